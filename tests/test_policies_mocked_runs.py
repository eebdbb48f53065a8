"""The policy pack as the engine runs it, fed what the program renders for every stack file
and phase, and configured from policies/config/<environment>.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import pytest

from harness.mockrun import MockRun, run_program
from harness.scenarios import STACK_SECRETS
from tests.conftest import NOW, STACKS, TRAFFIC_PHASES, VALID_APPROVAL, canary_overrides
from tests.policy_harness import KNOWN_ADVISORIES, check, environment_config, shared_pack
from tools.policy_client import (
    CONFIG_DIR,
    PolicyPackProcess,
    load_policy_config,
    resources_from_run,
)
from tools.render import config_files

pytestmark = pytest.mark.policy

MANDATORY = {
    "image-pinned",
    "no-prerelease-in-production",
    "production-approval-recorded",
    "release-freeze-respected",
    "production-quality-gates",
    "canary-traffic-weights",
    "container-resources",
    "container-probes",
    "run-as-non-root",
    "read-only-root-filesystem",
    "restricted-privileges",
    "minimum-replicas",
    "no-literal-secret-env",
    "no-secrets-in-configmaps",
    "redis-not-exposed",
    "traffic-split-consistent",
    "rollback-target-ready",
    "pod-disruption-budgets",
    "redis-network-policy",
    "workloads-network-isolated",
    "engines-admit-only-router",
    "monitoring-rules-per-track",
}
ADVISORY = {
    "no-default-namespace",
    "recommended-labels",
    "tracks-consistent",
    "release-override-recorded",
}
STACK_POLICIES = {
    "workloads-network-isolated",
    "engines-admit-only-router",
    "traffic-split-consistent",
    "rollback-target-ready",
    "tracks-consistent",
    "pod-disruption-budgets",
    "redis-network-policy",
    "monitoring-rules-per-track",
}


@pytest.fixture(scope="module")
def pack() -> PolicyPackProcess:
    return shared_pack()


def test_pack_describes_its_policies(pack: PolicyPackProcess) -> None:
    assert pack.name == "involution-release"
    assert set(pack.policies) == MANDATORY | ADVISORY
    for name, info in pack.policies.items():
        assert info.level == ("advisory" if name in ADVISORY else "mandatory"), name
        assert info.stack == (name in STACK_POLICIES), name
        assert info.description and not info.description.endswith(" "), name


@pytest.mark.parametrize("environment", STACKS)
def test_environment_configs_fit_the_pack(pack: PolicyPackProcess, environment: str) -> None:
    config = pack.configure(load_policy_config(CONFIG_DIR / f"{environment}.json"))
    assert set(config) >= set(pack.policies)
    levels = {name: config[name].level for name in pack.policies}
    if environment == "production":
        assert {n for n, level in levels.items() if level == "mandatory"} == MANDATORY
        assert config["minimum-replicas"].properties["minReplicasByName"] == {
            "involution-engine": 3,
            "involution-router": 2,
        }
    else:
        assert levels["production-approval-recorded"] == "disabled"
        assert levels["no-prerelease-in-production"] == "disabled"


SCENARIOS = [(stack, phase) for stack in STACKS for phase in ("none", *TRAFFIC_PHASES)]


@pytest.mark.parametrize(("stack", "phase"), SCENARIOS)
def test_mocked_runs_pass_every_mandatory_policy(
    pack: PolicyPackProcess, mocked: Callable[..., MockRun], stack: str, phase: str
) -> None:
    run = mocked(stack, canary_overrides(phase) if phase != "none" else None)
    report = check(pack, resources_from_run(run), environment=stack)
    assert report.mandatory == [], "\n".join(v.describe() for v in report.mandatory)
    assert {(v.policy, v.resource) for v in report.advisory} <= KNOWN_ADVISORIES


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param(canary_overrides("10", "v2.0.0"), id="major-two-approvers"),
        pytest.param({"canaryVersion": "v1.2.3", "canaryPhase": "50"}, id="patch-no-approval"),
        pytest.param(
            {"canaryVersion": "v1.3.0", "canaryPhase": "rollback", "approval": None},
            id="rollback-without-approval",
        ),
    ],
)
def test_production_release_variants_pass(
    pack: PolicyPackProcess, mocked: Callable[..., MockRun], overrides: dict[str, object]
) -> None:
    report = check(pack, resources_from_run(mocked("production", overrides)))
    assert report.mandatory == [], "\n".join(v.describe() for v in report.mandatory)


def test_the_clock_decides_whether_an_approval_expired(
    pack: PolicyPackProcess, mocked: Callable[..., MockRun]
) -> None:
    resources = resources_from_run(mocked("production", canary_overrides("50")))
    after = {"production-approval-recorded": {"evaluationTime": "2026-12-01T00:00:00+00:00"}}
    report = check(pack, resources, extra=after)
    [violation] = report.of("production-approval-recorded")
    assert violation.level == "mandatory"
    assert "expired at 2026-11-30T18:00:00+00:00" in violation.message
    assert VALID_APPROVAL["ticket"] == "CHG-2041"  # the approval the scenario carries


def test_config_for_tests_sets_the_clock() -> None:
    entry = environment_config("staging")["production-approval-recorded"]
    assert entry.level == "disabled"
    assert entry.properties["evaluationTime"].startswith("2026-11-24T12:00:00")


EXPIRED_APPROVAL = {**VALID_APPROVAL, "expiresAt": "2026-11-24T11:00:00Z"}


def test_a_staged_rollback_with_an_expired_approval_passes_the_pack(
    pack: PolicyPackProcess,
) -> None:
    """50 -> 10 is a step back: the program allows it with a lapsed approval, and so does the
    pack, which reads the step the program recorded on the engine Deployments."""
    overrides = {**canary_overrides("10"), "approval": EXPIRED_APPROVAL}
    deployed = {
        "phase": "50",
        "stableVersion": "v1.2.2",
        "canaryVersion": "v1.3.0",
        "phaseSince": "2026-11-24T10:00:00Z",
    }
    run = run_program(
        "production", {**STACK_SECRETS["production"], **overrides}, now=NOW, deployed=deployed
    )
    canary = run.named("Deployment", "engine-canary")
    assert canary.metadata["annotations"]["involution.dev/release-step"] == "step-back"
    report = check(pack, resources_from_run(run))
    assert report.mandatory == [], "\n".join(v.describe() for v in report.mandatory)
    # The same phase reached forward would be refused by the pack.
    forward = run_program(
        "production",
        {**STACK_SECRETS["production"], **overrides, "approval": VALID_APPROVAL},
        now=NOW,
        deployed={**deployed, "phase": "none", "canaryVersion": None},
    )
    edited = [
        r
        if r.kind != "Deployment"
        else replace(
            r,
            inputs={
                **r.inputs,
                "metadata": {
                    **r.metadata,
                    "annotations": {
                        **(r.metadata.get("annotations") or {}),
                        "involution.dev/approval": json.dumps(EXPIRED_APPROVAL),
                    },
                },
            },
        )
        for r in forward.resources
    ]
    forward.resources[:] = edited
    assert [v.policy for v in check(pack, resources_from_run(forward)).mandatory] == [
        "production-approval-recorded"
    ]


def test_every_release_override_is_flagged(pack: PolicyPackProcess) -> None:
    """Dev, where a step forward asks no canary analysis: a 24h soak skipped by an override."""
    override = {
        "reason": "fix verified in staging",
        "approvedBy": ["ana.release"],
        "ticket": "CHG-77",
        "expiresAt": "2026-11-24T13:00:00Z",
    }
    run = run_program(
        "dev",
        {
            **STACK_SECRETS["dev"],
            **canary_overrides("50"),
            "soak": {"10": "24h"},
            "releaseOverride": override,
        },
        now=NOW,
        deployed={
            "phase": "10",
            "stableVersion": "v1.2.2",
            "canaryVersion": "v1.3.0",
            "phaseSince": "2026-11-24T11:00:00Z",
        },
    )
    assert run.outputs["releaseLog"][-1]["reason"] == "override: fix verified in staging"
    report = check(pack, resources_from_run(run), environment="dev")
    assert report.mandatory == []
    [flagged] = report.of("release-override-recorded")
    assert flagged.level == "advisory"
    assert "'fix verified in staging', approved by ana.release, CHG-77" in flagged.message


def traffic_run(phase: str, traffic: dict[str, object] | None = None) -> MockRun:
    overrides = {**STACK_SECRETS["production"], **canary_overrides(phase)}
    if traffic is not None:
        overrides["traffic"] = traffic
    return run_program("production", overrides, now=NOW)


@pytest.mark.parametrize(
    ("phase", "traffic"),
    [
        ("shadow", None),
        ("shadow", {"mirrorPercent": 25}),
        ("10", {"stickyBy": "header:X-Client-Id"}),
        ("50", {"stickyBy": "cookie:session_id"}),
        ("50", {"stickyBy": "ip"}),
    ],
)
def test_production_traffic_controls_pass_the_pack(
    pack: PolicyPackProcess, phase: str, traffic: dict[str, object] | None
) -> None:
    """Shadow (canary weight 0, copies to the canary) and the sticky split (split_clients at
    the phase's weights) are judged as the splits they are."""
    report = check(pack, resources_from_run(traffic_run(phase, traffic)))
    assert report.mandatory == [], report.mandatory


def test_the_header_override_in_production_needs_acknowledging(pack: PolicyPackProcess) -> None:
    resources = resources_from_run(traffic_run("10", {"override": True}))
    report = check(pack, resources)
    [violation] = report.mandatory
    assert violation.policy == "canary-traffic-weights"
    assert "$http_x_involution_track pins requests" in violation.message
    assert "allowOverride" in violation.message
    acknowledged = check(
        pack,
        resources,
        extra={"canary-traffic-weights": {"enforcementLevel": "mandatory", "allowOverride": True}},
    )
    assert acknowledged.mandatory == []


def test_staging_allows_its_default_override(pack: PolicyPackProcess) -> None:
    overrides = {**STACK_SECRETS["staging"], **canary_overrides("10")}
    run = run_program("staging", overrides, now=NOW)
    assert "map $http_x_involution_track" in config_files(run)["nginx.conf"]
    report = check(pack, resources_from_run(run), environment="staging")
    assert report.mandatory == []
