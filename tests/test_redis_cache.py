"""Redis: auth only through a Secret, sized as a cache, reachable only by its clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness.mockrun import MockRun, RecordedResource
from involution.redis_conf import auth_conf
from tests.conftest import STACKS, TEST_REDIS_PASSWORD, canary_overrides

pytestmark = pytest.mark.unit

Runner = Callable[..., MockRun]


def redis_conf(run: MockRun) -> str:
    (config_map,) = [c for c in run.of_kind("ConfigMap") if "redis.conf" in c.inputs["data"]]
    text: str = config_map.inputs["data"]["redis.conf"]
    return text


def directives(text: str) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in text.splitlines() if line)


def container(run: MockRun, deployment: str) -> dict[str, Any]:
    spec: dict[str, Any] = run.named("Deployment", deployment).inputs["spec"]["template"]["spec"]
    return spec["containers"][0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("stack", STACKS)
def test_password_lives_only_in_a_secret(mocked: Runner, stack: str) -> None:
    run = mocked(stack, canary_overrides("10"))
    secret = run.named("Secret", "involution-redis-auth")
    assert "stringData" in secret.secret_paths  # a Pulumi secret: encrypted in state
    assert secret.inputs["stringData"]["password"] == TEST_REDIS_PASSWORD
    assert secret.inputs["stringData"]["auth.conf"] == auth_conf(TEST_REDIS_PASSWORD)
    conf = directives(redis_conf(run))
    assert conf["include"] == "/etc/redis/auth/auth.conf"
    assert "requirepass" not in conf
    # Nowhere else: no ConfigMap, no literal env value, no argument.
    for resource in run.resources:
        if resource.kind == "Secret":
            continue
        assert TEST_REDIS_PASSWORD not in repr(resource.inputs), resource.name
    for track in ("stable", "canary"):
        env = {e["name"]: e for e in container(run, f"engine-{track}")["env"]}
        assert env["REDIS_PASSWORD"] == {
            "name": "REDIS_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "involution-redis-auth", "key": "password"}},
        }
        assert env["REDIS_ADDR"]["value"] == "redis:6379"


def test_key_prefix_follows_each_tracks_minor_line(mocked: Runner) -> None:
    run = mocked("production", canary_overrides("50"))
    prefixes = {
        track: {e["name"]: e.get("value") for e in container(run, f"engine-{track}")["env"]}[
            "REDIS_KEY_PREFIX"
        ]
        for track in ("stable", "canary")
    }
    assert prefixes == {"stable": "involution:v1.2:", "canary": "involution:v1.3:"}
    patch = mocked("production", {"canaryVersion": "v1.2.3", "canaryPhase": "10"})
    env = {e["name"]: e.get("value") for e in container(patch, "engine-canary")["env"]}
    assert env["REDIS_KEY_PREFIX"] == "involution:v1.2:"  # same schema line shares the cache


def test_sized_and_evicting_as_a_cache(mocked: Runner) -> None:
    run = mocked("staging", {"redisMaxMemoryMb": "512", "redisEvictionPolicy": "allkeys-lfu"})
    conf = directives(redis_conf(run))
    assert conf["maxmemory"] == "512mb"
    assert conf["maxmemory-policy"] == "allkeys-lfu"
    assert conf["save"] == '""' and conf["appendonly"] == "no"
    redis = container(run, "redis")
    limit = redis["resources"]["limits"]["memory"]
    assert limit == "768Mi"  # maxmemory plus head room for buffers and fragmentation
    assert redis["image"] == "redis:7.4.1-alpine"
    assert redis["command"] == ["redis-server", "/etc/redis/redis.conf"]
    assert redis["readinessProbe"]["exec"]["command"] == ["redis-cli", "ping"]
    env = {e["name"]: e for e in redis["env"]}
    assert env["REDISCLI_AUTH"]["valueFrom"]["secretKeyRef"]["name"] == "involution-redis-auth"


def test_service_is_cluster_internal(mocked: Runner) -> None:
    service = mocked("production").named("Service", "redis")
    spec = service.inputs["spec"]
    assert spec["type"] == "ClusterIP"
    assert "externalIPs" not in spec
    assert [int(p["port"]) for p in spec["ports"]] == [6379]


def test_network_policy_admits_only_engine_and_resolver(mocked: Runner) -> None:
    policy: RecordedResource = mocked("production").named("NetworkPolicy", "redis")
    spec = policy.inputs["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "redis"}}
    assert spec["policyTypes"] == ["Ingress"]
    (rule,) = spec["ingress"]
    sources = {
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for peer in rule["from"]
    }
    assert sources == {"involution-engine", "time-resolver"}
    assert all(set(peer) == {"podSelector"} for peer in rule["from"])  # no namespace-wide peers
    assert [int(p["port"]) for p in rule["ports"]] == [6379]


def test_dev_without_password_runs_without_auth_and_warns() -> None:
    from harness.mockrun import run_program
    from involution.settings import parse_settings
    from tests.conftest import NOW

    run = run_program("dev", {"redisPassword": None}, now=NOW)
    assert not run.of_kind("Secret")
    conf = directives(redis_conf(run))
    assert "include" not in conf
    assert conf["protected-mode"] == "no"
    settings = parse_settings({"stableVersion": "v1.2.2"}, stack="dev")
    assert any("redisPassword is not set" in w for w in settings.warnings)
