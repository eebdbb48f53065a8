"""One mocked run per stack file and phase: the inputs every resource receives."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from typing import Any

import pytest

from harness.mockrun import MockRun, RecordedResource, run_program
from tests.conftest import (
    STACK_SECRETS,
    STACKS,
    TRAFFIC_PHASES,
    canary_overrides,
)
from tests.nginx_parse import (
    find,
    parse_conf,
    upstream_backups,
    upstream_block,
    upstream_servers,
    upstream_weights,
)

pytestmark = pytest.mark.unit

ALL_PHASES = ("none", *TRAFFIC_PHASES)
EXPECTED_WEIGHTS = {
    "none": {"engine-stable:8080": 100},
    "10": {"engine-stable:8080": 90, "engine-canary:8080": 10},
    "50": {"engine-stable:8080": 50, "engine-canary:8080": 50},
    "100": {"engine-canary:8080": 100},
    "rollback": {"engine-stable:8080": 100},
}
STACK_REPLICAS = {"dev": 2, "staging": 2, "production": 6}

Runner = Callable[..., MockRun]


def scenario(mocked: Runner, stack: str, phase: str) -> MockRun:
    return mocked(stack, canary_overrides(phase) if phase != "none" else None)


def router_config_map(run: MockRun) -> RecordedResource:
    (config_map,) = [c for c in run.of_kind("ConfigMap") if "nginx.conf" in c.inputs["data"]]
    return config_map


def nginx_conf(run: MockRun) -> str:
    text: str = router_config_map(run).inputs["data"]["nginx.conf"]
    return text


def container_env(deployment: RecordedResource) -> dict[str, Any]:
    """name -> literal value, or the valueFrom mapping for env read from elsewhere."""
    return {
        e["name"]: e.get("value", e.get("valueFrom"))
        for e in pod_spec(deployment)["containers"][0]["env"]
    }


def pod_spec(deployment: RecordedResource) -> dict[str, Any]:
    spec: dict[str, Any] = deployment.inputs["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("phase", ALL_PHASES)
@pytest.mark.parametrize("stack", STACKS)
def test_upstream_weights_follow_the_phase_table(mocked: Runner, stack: str, phase: str) -> None:
    conf = nginx_conf(scenario(mocked, stack, phase))
    assert upstream_weights(conf) == EXPECTED_WEIGHTS[phase]
    assert all(params.get("weight") != "0" for params in upstream_servers(conf).values())
    # Stable is warm at 100%: a backup then, so a dead canary fails over instead of failing.
    assert upstream_backups(conf) == (["engine-stable:8080"] if phase == "100" else [])


@pytest.mark.parametrize("phase", ALL_PHASES)
@pytest.mark.parametrize("stack", STACKS)
def test_replicas_follow_the_phase_table(mocked: Runner, stack: str, phase: str) -> None:
    run = scenario(mocked, stack, phase)
    n = STACK_REPLICAS[stack]
    assert run.named("Deployment", "engine-stable").inputs["spec"]["replicas"] == n
    canaries = [d for d in run.of_kind("Deployment") if d.metadata["name"] == "engine-canary"]
    expected = {
        "none": None,
        "10": max(1, math.ceil(n * 0.1)),
        "50": max(1, math.ceil(n * 0.5)),
        "100": n,
        "rollback": 0,
    }[phase]
    if expected is None:
        assert canaries == []
        assert not [s for s in run.of_kind("Service") if s.metadata["name"] == "engine-canary"]
    else:
        assert canaries[0].inputs["spec"]["replicas"] == expected
    assert run.outputs["stableReplicas"] == n
    assert run.outputs["canaryReplicas"] == expected


@pytest.mark.parametrize("stack", STACKS)
def test_track_services_have_fixed_names_and_port(mocked: Runner, stack: str) -> None:
    run = scenario(mocked, stack, "50")
    for track in ("stable", "canary"):
        service = run.named("Service", f"engine-{track}")
        spec = service.inputs["spec"]
        assert spec["type"] == "ClusterIP"
        assert [(p["port"], p["targetPort"]) for p in spec["ports"]] == [(8080, "http")]
        assert spec["selector"] == {"app.kubernetes.io/name": "involution-engine", "track": track}
        deployment = run.named("Deployment", f"engine-{track}")
        selector = deployment.inputs["spec"]["selector"]["matchLabels"]
        assert selector == spec["selector"]
        pdb = run.named("PodDisruptionBudget", f"engine-{track}")
        assert pdb.inputs["spec"]["selector"]["matchLabels"] == selector


@pytest.mark.parametrize("stack", STACKS)
def test_pods_carry_track_and_version_labels(mocked: Runner, stack: str) -> None:
    run = scenario(mocked, stack, "10")
    for track, version in (("stable", "v1.2.2"), ("canary", "v1.3.0")):
        labels = run.named("Deployment", f"engine-{track}").inputs["spec"]["template"]["metadata"][
            "labels"
        ]
        assert labels["track"] == track
        assert labels["version"] == version
        assert labels["app.kubernetes.io/version"] == version
        assert labels["app.kubernetes.io/name"] == "involution-engine"
        assert labels["app.kubernetes.io/instance"] == stack
        assert labels["app.kubernetes.io/part-of"] == "involution"
        container = pod_spec(run.named("Deployment", f"engine-{track}"))["containers"][0]
        assert container["image"] == f"involution-engine:{version}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_workload_is_hardened(mocked: Runner, stack: str) -> None:
    run = scenario(mocked, stack, "10")
    deployments = run.of_kind("Deployment")
    assert {d.metadata["name"] for d in deployments} == {
        "engine-stable",
        "engine-canary",
        "involution-router",
        "time-resolver",
        "redis",
    }
    for deployment in deployments:
        spec = deployment.inputs["spec"]
        assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        pod = pod_spec(deployment)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        if spec["replicas"] > 1:  # a single cache pod has nothing to spread
            assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} >= {
                "kubernetes.io/hostname"
            }
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["readOnlyRootFilesystem"] is True
            assert security["privileged"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            assert security["seccompProfile"] == {"type": "RuntimeDefault"}
            resources = container["resources"]
            assert set(resources["requests"]) == {"cpu", "memory"}
            assert set(resources["limits"]) == {"cpu", "memory"}
            readiness, liveness = container["readinessProbe"], container["livenessProbe"]
            assert readiness and liveness
            assert readiness != liveness
            assert liveness["failureThreshold"] * liveness["periodSeconds"] > (
                readiness["failureThreshold"] * readiness["periodSeconds"]
            )
            assert ":" in container["image"] and not container["image"].endswith(":latest")


@pytest.mark.parametrize("stack", STACKS)
def test_release_annotations_record_the_release(mocked: Runner, stack: str) -> None:
    run = scenario(mocked, stack, "50")
    for track, version in (("stable", "v1.2.2"), ("canary", "v1.3.0")):
        annotations = run.named("Deployment", f"engine-{track}").metadata["annotations"]
        assert annotations["involution.dev/version"] == version
        assert annotations["involution.dev/release-type"] == "minor"
        assert annotations["involution.dev/rollback-target"] == "v1.2.2"
        assert annotations["involution.dev/phase"] == "50"
        approval = json.loads(annotations["involution.dev/approval"])
        assert approval["ticket"] == "CHG-2041"
        assert approval["approvedBy"] == ["ana.release", "raj.sre"]
        gates = json.loads(annotations["involution.dev/gates"])
        assert set(gates) == {
            "codeQuality",
            "unitTests",
            "integrationTests",
            "accuracy",
            "security",
            "apiContract",
        }
        # Audit data lives on the Deployment, never on the pod template: no restarts.
        template = run.named("Deployment", f"engine-{track}").inputs["spec"]["template"]
        assert "annotations" not in template["metadata"]


@pytest.mark.parametrize("phase", ALL_PHASES)
def test_router_checksum_rolls_nginx_on_every_split(mocked: Runner, phase: str) -> None:
    run = scenario(mocked, "production", phase)
    conf = nginx_conf(run)
    router = run.named("Deployment", "involution-router")
    template = router.inputs["spec"]["template"]
    digest = hashlib.sha256(conf.encode()).hexdigest()
    assert template["metadata"]["annotations"]["involution.dev/nginx-conf-sha256"] == digest
    assert run.outputs["nginxConfSha256"] == digest
    volumes = {v["name"]: v for v in pod_spec(router)["volumes"]}
    config_map = router_config_map(run)
    assert volumes["nginx-conf"]["configMap"]["name"] == config_map.metadata["name"]


@pytest.mark.parametrize("phase", ["10", "rollback"])
def test_up_waits_for_each_deployments_rollout_of_its_generation(
    mocked: Runner, phase: str
) -> None:
    """`pulumi up` returns when the new pods serve: every Deployment waits for the controller's
    NewReplicaSetAvailable of its own generation with every declared replica updated and
    available (the provider's waitFor), not for whatever status its built-in await sees
    first. The canary scaled to 0 at rollback waits for the condition alone."""
    run = scenario(mocked, "staging", phase)
    deployments = run.of_kind("Deployment")
    assert {d.metadata["name"] for d in deployments} >= {
        "engine-stable",
        "engine-canary",
        "involution-router",
        "redis",
        "time-resolver",
    }
    for deployment in deployments:
        conditions = json.loads(deployment.metadata["annotations"]["pulumi.com/waitFor"])
        replicas = int(deployment.inputs["spec"]["replicas"])  # floats on the wire
        counts = [
            f"jsonpath={{.status.{field}}}={replicas}"
            for field in ("replicas", "updatedReplicas", "availableReplicas")
        ]
        assert conditions == [
            'jsonpath={.status.conditions[?(@.type=="Progressing")].reason}=NewReplicaSetAvailable',
            *(counts if replicas else []),
        ], deployment.metadata["name"]


def test_each_phase_has_its_own_checksum(mocked: Runner) -> None:
    sums = {p: scenario(mocked, "production", p).outputs["nginxConfSha256"] for p in ALL_PHASES}
    # none and rollback serve the same split, but the exposed phase metric differs.
    assert len(set(sums.values())) == len(ALL_PHASES)


@pytest.mark.parametrize("stack", STACKS)
def test_router_replicas_and_image(mocked: Runner, stack: str) -> None:
    router = scenario(mocked, stack, "none").named("Deployment", "involution-router")
    replicas = router.inputs["spec"]["replicas"]
    assert replicas >= (2 if stack != "dev" else 1)
    image = pod_spec(router)["containers"][0]["image"]
    assert image.startswith("nginxinc/nginx-unprivileged:1.")
    assert pod_spec(router)["containers"][0]["command"] == ["nginx", "-g", "daemon off;"]
    assert router.metadata["labels"]["app.kubernetes.io/version"] == image.rsplit(":", 1)[1]


def test_router_version_label_of_a_digest_pinned_image() -> None:
    from involution.images import ImageRef

    digest = "nginxinc/nginx-unprivileged@sha256:" + "ab" * 32
    assert ImageRef.parse(digest).label_version == "ab" * 6
    assert ImageRef.parse("nginxinc/nginx-unprivileged:1.27.3-alpine").label_version == (
        "1.27.3-alpine"
    )


def test_nginx_conf_has_zone_keepalive_retries_and_track_header(mocked: Runner) -> None:
    conf = nginx_conf(scenario(mocked, "production", "10"))
    block = upstream_block(conf)
    assert find(block, "zone")[0]["args"] == ["involution_engine", "64k"]
    assert find(block, "keepalive")[0]["args"] == ["32"]
    assert find(block, "keepalive_timeout")[0]["args"] == ["4s"]
    http = find(parse_conf(conf), "http")[0]["block"]
    location = next(
        loc
        for server in find(http, "server")
        for loc in find(server["block"], "location")
        if loc["args"] == ["/"]
    )["block"]
    next_upstream = find(location, "proxy_next_upstream")[0]["args"]
    assert {"error", "timeout", "http_502", "http_503"} <= set(next_upstream)
    assert "non_idempotent" not in next_upstream  # a POST is never sent twice
    assert find(location, "proxy_next_upstream_tries")[0]["args"] == ["2"]
    assert find(location, "proxy_http_version")[0]["args"] == ["1.1"]
    headers = {d["args"][0]: d["args"][1:] for d in find(location, "add_header")}
    # Internal addresses never reach clients outside dev.
    assert "X-Involution-Upstream" not in headers
    assert headers["X-Request-ID"] == ["$request_id", "always"]


@pytest.mark.parametrize(("stack", "shown"), [("dev", True), ("staging", False)])
def test_only_dev_names_the_answering_pod(mocked: Runner, stack: str, shown: bool) -> None:
    http = find(parse_conf(nginx_conf(scenario(mocked, stack, "10"))), "http")[0]["block"]
    headers = {
        d["args"][0]: d["args"][1:]
        for server in find(http, "server")
        for loc in find(server["block"], "location")
        for d in find(loc["block"], "add_header")
    }
    assert ("X-Involution-Upstream" in headers) is shown
    if shown:
        assert headers["X-Involution-Upstream"] == ["$upstream_addr", "always"]


@pytest.mark.parametrize("stack", STACKS)
def test_engine_reaches_the_time_resolver(mocked: Runner, stack: str) -> None:
    run = scenario(mocked, stack, "10")
    resolver = run.named("Service", "time-resolver")
    port = resolver.inputs["spec"]["ports"][0]["port"]
    for track in ("stable", "canary"):
        env = container_env(run.named("Deployment", f"engine-{track}"))
        assert env["TIME_RESOLVER_URL"] == f"http://time-resolver:{int(port)}"
        assert env["INVOLUTION_TRACK"] == track
    image = pod_spec(run.named("Deployment", "time-resolver"))["containers"][0]["image"]
    assert image == "involution-time-resolver:v1.0.0"


def test_time_resolver_version_is_its_own_key(mocked: Runner) -> None:
    run = mocked("staging", {"timeResolverVersion": "v1.4.1"})
    image = pod_spec(run.named("Deployment", "time-resolver"))["containers"][0]["image"]
    assert image == "involution-time-resolver:v1.4.1"
    assert (
        run.named("Deployment", "engine-stable")
        .inputs["spec"]["template"]["spec"]["containers"][0]["image"]
        .endswith(":v1.2.2")
    )


def test_forward_phases_ready_the_tracks_before_the_router(mocked: Runner) -> None:
    run = scenario(mocked, "production", "50")
    router = next(r for r in run.resources if r.name == "engine-router-deployment")
    assert {"engine-stable-deployment", "engine-canary-deployment"} <= run.waits_for(router)


def test_rollback_moves_traffic_before_scaling_the_canary_down(mocked: Runner) -> None:
    run = scenario(mocked, "production", "rollback")
    canary = next(r for r in run.resources if r.name == "engine-canary-deployment")
    router = next(r for r in run.resources if r.name == "engine-router-deployment")
    assert "engine-router-deployment" in run.waits_for(canary)
    assert "engine-canary-deployment" not in run.waits_for(router)


@pytest.mark.parametrize("phase", ALL_PHASES)
def test_outputs(mocked: Runner, phase: str) -> None:
    outputs = scenario(mocked, "production", phase).outputs
    weights = {"none": 0, "10": 10, "50": 50, "100": 100, "rollback": 0}[phase]
    assert outputs["phase"] == phase
    assert outputs["canaryWeight"] == weights
    assert outputs["stableWeight"] == 100 - weights
    assert outputs["stableVersion"] == "v1.2.2"
    assert outputs["canaryVersion"] == (None if phase == "none" else "v1.3.0")
    assert outputs["releaseType"] == ("none" if phase == "none" else "minor")
    assert outputs["rollbackTarget"] == "v1.2.2"
    assert set(outputs["nextCommands"]) == {
        "advance",
        "advanceAllowed",
        "rollback",
        "stagedRollback",
    }


def test_namespace_enforces_restricted_pod_security(mocked: Runner) -> None:
    run = mocked("staging", {"namespace": "involution-blue"})
    (namespace,) = run.of_kind("Namespace")
    assert namespace.metadata["name"] == "involution-blue"
    assert namespace.metadata["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    namespaced = [
        r for r in run.resources if r.custom and r.kind not in ("Namespace", "kubernetes")
    ]
    assert namespaced and all(r.metadata["namespace"] == "involution-blue" for r in namespaced)


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        ("dev", {"renderYamlToDirectory": "rendered/dev"}),
        ("staging", {"context": "involution-staging"}),
        ("production", {"context": "involution-production"}),
    ],
)
def test_provider_targets_a_folder_or_a_cluster(stack: str, expected: dict[str, str]) -> None:
    # No `now`: settings come from the runtime config and the real clock, as `pulumi up` reads.
    run = run_program(stack, STACK_SECRETS[stack])
    (provider,) = [r for r in run.resources if r.type == "pulumi:providers:kubernetes"]
    assert {k: provider.inputs.get(k) for k in expected} == expected
    others = {"renderYamlToDirectory", "context"} - set(expected)
    assert all(not provider.inputs.get(k) for k in others)
    kubernetes_objects = [r for r in run.resources if r.type.startswith("kubernetes:")]
    assert kubernetes_objects
    # Every object goes through the configured provider, never the ambient default one.
    assert all(r.provider.startswith(provider.urn + "::") for r in kubernetes_objects)


def test_render_mode_passes_no_kubeconfig_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """KUBECONFIG exported for the local cluster: the SDK would hand it to the provider, which
    refuses a kubeconfig beside renderYamlToDirectory; the program passes an empty one."""
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/kubeconfig")
    run = run_program("dev", STACK_SECRETS["dev"])
    (provider,) = [r for r in run.resources if r.type == "pulumi:providers:kubernetes"]
    assert provider.inputs.get("renderYamlToDirectory") == "rendered/dev"
    assert not provider.inputs.get("kubeconfig")
    # The same inputs without it: a `pulumi up` from another shell shows no provider change.
    monkeypatch.delenv("KUBECONFIG")
    run = run_program("dev", STACK_SECRETS["dev"])
    (unset,) = [r for r in run.resources if r.type == "pulumi:providers:kubernetes"]
    assert unset.inputs == provider.inputs


def test_cluster_mode_hands_the_provider_no_kubeconfig_to_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given a kubeconfig, the provider copies it (client key included) to a temporary file
    it never removes; the program passes an empty one even with KUBECONFIG exported, and the
    provider reads KUBECONFIG itself (tests/test_cluster.py: no copy left after the walk)."""
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/kubeconfig")
    run = run_program("staging", STACK_SECRETS["staging"])
    (provider,) = [r for r in run.resources if r.type == "pulumi:providers:kubernetes"]
    assert provider.inputs.get("context") == "involution-staging"
    assert provider.inputs.get("kubeconfig") == ""
