"""What only the engine's way of handing over resources exposes: unknown values during
preview, secret envelopes, numbers as doubles, and policy config checked against the schemas."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format  # type: ignore[import-untyped,unused-ignore]

from tests.conftest import canary_overrides, run_scenario
from tests.policy_harness import check, container, edit, pod, shared_pack
from tools.policy_client import (
    UNKNOWN,
    UNKNOWN_SENTINEL,
    PackResource,
    PolicyConfigEntry,
    PolicyPackError,
    PolicyPackProcess,
    analyze_request,
    parse_policy_config,
    resources_from_run,
)

pytestmark = pytest.mark.policy

Resources = list[PackResource]
CANARY = "engine-canary-deployment"


@pytest.fixture(scope="module")
def pack() -> PolicyPackProcess:
    return shared_pack()


@pytest.fixture(scope="module")
def base() -> Resources:
    return resources_from_run(run_scenario("production", canary_overrides("10")))


def _mentions(report_messages: list[str], text: str) -> bool:
    return any(text in message for message in report_messages)


def test_unknown_values_are_skipped_not_failed(pack: PolicyPackProcess, base: Resources) -> None:
    """An image built during this update, a namespace from another resource, a security
    context computed later: a preview cannot judge them, and must not fail on them."""

    def unknowns(props: dict[str, Any]) -> None:
        engine = container(props)
        engine["image"] = UNKNOWN
        engine["securityContext"] = UNKNOWN
        engine["resources"] = UNKNOWN
        engine["env"] = [UNKNOWN, *engine["env"]]
        props["metadata"]["namespace"] = UNKNOWN
        pod(props)["securityContext"] = UNKNOWN

    report = check(pack, edit(base, CANARY, unknowns))
    messages = [v.describe() for v in report.violations if v.resource == CANARY]
    assert messages == []
    assert not _mentions([v.message for v in report.violations], "during preview")


def test_a_wholly_unknown_spec_draws_nothing(pack: PolicyPackProcess, base: Resources) -> None:
    def unknown_spec(props: dict[str, Any]) -> None:
        props["spec"] = UNKNOWN

    resources = edit(edit(base, CANARY, unknown_spec), "monitoring-rules", unknown_spec)
    resources = edit(resources, "redis-network-policy", unknown_spec)
    report = check(pack, resources)
    assert report.mandatory == [], "\n".join(v.describe() for v in report.mandatory)


def test_unknowns_travel_as_the_engine_sentinel(base: Resources) -> None:
    canary = next(r for r in base if r.name == CANARY)
    request = analyze_request(
        PackResource(type=canary.type, name=canary.name, props={"metadata": {"name": UNKNOWN}})
    )
    assert json_format.MessageToDict(request.properties) == {"metadata": {"name": UNKNOWN_SENTINEL}}


def test_secrets_arrive_wrapped_and_are_judged_in_plaintext(
    pack: PolicyPackProcess, base: Resources
) -> None:
    secret = next(r for r in base if r.type == "kubernetes:core/v1:Secret")
    assert secret.secret_paths == ("stringData",)
    wire = json_format.MessageToDict(analyze_request(secret).properties)
    assert wire["stringData"]["4dabf18193072939515e22adb298388d"] == (
        "1b47061264138c4ac30d75fd1eb44270"
    )
    # A secret ConfigMap value is unwrapped by the pack and still scanned.
    leaky = PackResource(
        type="kubernetes:core/v1:ConfigMap",
        name="leaky",
        props={
            "metadata": {"name": "leaky", "namespace": "involution"},
            "data": {"redis.conf": "requirepass hunter2\n"},
        },
        secret_paths=("data.redis.conf",),
    )
    report = check(pack, [*base, leaky])
    assert [v.resource for v in report.of("no-secrets-in-configmaps")] == ["leaky"]


def test_numbers_arrive_as_doubles(base: Resources) -> None:
    stable = next(r for r in base if r.name == "engine-stable-deployment")
    wire = analyze_request(stable).properties
    assert wire["spec"]["replicas"] == 6.0
    assert isinstance(wire["spec"]["replicas"], float)


def test_integer_config_arrives_as_a_double_and_still_counts(
    pack: PolicyPackProcess, base: Resources
) -> None:
    report = check(
        pack, base, extra={"minimum-replicas": {"minReplicasByName": {"involution-engine": 7}}}
    )
    assert any("minimum here is 7" in v.message for v in report.of("minimum-replicas"))


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"minimum-replica": {"minReplicas": 1}}, "names no policy of the pack: minimum-replica"),
        ({"minimum-replicas": {"minReplicas": "two"}}, "minimum-replicas.minReplicas: 'two'"),
        ({"minimum-replicas": {"minReplica": 1}}, "unknown property 'minReplica'"),
        ({"minimum-replicas": {"minReplicas": -1}}, "below the minimum 0"),
        ({"image-pinned": {"forbiddenTags": "latest"}}, "is not of type array"),
    ],
)
def test_policy_config_is_validated_against_the_schemas(
    pack: PolicyPackProcess, config: dict[str, object], error: str
) -> None:
    with pytest.raises(PolicyPackError, match=error.replace(".", r"\.").replace("'", "'")):
        pack.configure(parse_policy_config(config))


def test_policy_config_file_format() -> None:
    config = parse_policy_config(
        {
            "all": "advisory",
            "image-pinned": {"enforcementLevel": "mandatory", "forbiddenTags": ["latest"]},
            "recommended-labels": {},
        }
    )
    assert config == {
        "all": PolicyConfigEntry("advisory", {}),
        "image-pinned": PolicyConfigEntry("mandatory", {"forbiddenTags": ["latest"]}),
    }
    with pytest.raises(PolicyPackError, match="not a valid enforcement level"):
        parse_policy_config({"image-pinned": "blocking"})


def test_all_then_per_policy(pack: PolicyPackProcess) -> None:
    config = pack.configure(parse_policy_config({"all": "disabled", "image-pinned": "mandatory"}))
    assert config["image-pinned"].level == "mandatory"
    assert config["container-probes"].level == "disabled"
    assert config["image-pinned"].properties["forbiddenTags"] == ["latest"]  # schema default


def test_a_pack_that_got_no_config_applies_its_defaults() -> None:
    """The engine calls Configure only when it has config; the pack's own defaults are the
    production-strict ones."""
    resources = resources_from_run(run_scenario("production"))
    with PolicyPackProcess(stack="production") as fresh:
        assert fresh.version == "0.1.0"  # PulumiPolicy.yaml's, as the engine reports it
        report = fresh.check(resources)
        assert report.mandatory == [], "\n".join(v.describe() for v in report.mandatory)
        tight = edit(
            resources, "engine-stable-deployment", lambda p: p["spec"].update(replicas=1.0)
        )
        [violation] = fresh.check(tight).of("minimum-replicas")
        assert violation.level == "mandatory"
        assert "minimum here is 2" in violation.message
