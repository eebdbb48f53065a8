"""Fail closed: unreadable outputs, a cluster that disagrees or cannot be read, and adoption.

The whole check a `pulumi up` makes (`check_release`) on a parsed stack config, against the
stack's outputs as the engine returns them and the cluster's release annotations.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from involution.errors import ConfigError
from involution.release.checks import CheckedRelease, check_release
from involution.release.live import LiveRelease, LiveTrack
from involution.release.state import DeployedRelease
from involution.settings import parse_settings

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LONG_AGO = (NOW - timedelta(days=3)).isoformat().replace("+00:00", "Z")
WHERE = "the cluster at https://127.0.0.1:16443 (involution-local), namespace involution"
ADOPTION = {
    "reason": "state lost with the old backend",
    "approvedBy": ["ana.release"],
    "ticket": "CHG-3001",
    "expiresAt": (NOW + timedelta(hours=2)).isoformat(),
}


def outputs(phase: str, stable: str = "v1.2.2", canary: str | None = None) -> dict[str, Any]:
    return {
        "phase": phase,
        "stableVersion": stable,
        "canaryVersion": canary,
        "phaseSince": LONG_AGO,
        "releaseLog": [],
    }


def config(stack: str = "staging", **values: Any) -> dict[str, str]:
    raw: dict[str, Any] = {
        "environment": stack,
        "stableVersion": "v1.2.2",
        "canaryPhase": "none",
        "redisPassword": "test-only",
        "gates": {
            g: "passed"
            for g in (
                "codeQuality",
                "unitTests",
                "integrationTests",
                "accuracy",
                "security",
                "apiContract",
            )
        },
        **values,
    }
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items() if v is not None}


def check(
    raw: Mapping[str, str],
    last: Mapping[str, Any] | None,
    live: LiveRelease | None = None,
    *,
    preview: bool = False,
) -> CheckedRelease:
    settings = parse_settings(raw, stack="staging")
    return check_release(
        settings, DeployedRelease.from_outputs(last), now=NOW, live=live, preview=preview
    )


def refusal(
    raw: Mapping[str, str], last: Mapping[str, Any] | None, live: LiveRelease | None = None
) -> str:
    with pytest.raises(ConfigError) as refused:
        check(raw, last, live)
    return str(refused.value)


def live(*tracks: tuple[str, str, str]) -> LiveRelease:
    """(track, version, phase) of each engine Deployment the cluster runs."""
    return LiveRelease(
        WHERE,
        tracks=tuple(
            LiveTrack(t, f"engine-{t}", version=v, phase=p, recorded_track=t)  # type: ignore[arg-type]
            for t, v, p in tracks
        ),
    )


# --- outputs that exist but cannot be read -------------------------------------------------


def test_an_unreadable_stable_version_no_longer_lets_a_major_through_as_stay() -> None:
    message = refusal(config(stableVersion="v2.0.0"), outputs("none", stable="v1.2.2-final!"))
    assert "stableVersion = 'v1.2.2-final!'" in message
    assert "canaryPhase = 'none'" in message
    assert "a step back" in message


@pytest.mark.parametrize("phase", ["", "fifty", "25"])
def test_an_unreadable_phase_refuses_every_step_but_rollback(phase: str) -> None:
    last = outputs(phase, canary="v1.3.0")
    for forward in ("10", "50", "100", "none"):
        message = refusal(config(canaryVersion="v1.3.0", canaryPhase=forward), last)
        assert f"the stack's last output phase = {phase!r}" in message
    back = check(config(canaryVersion="v1.3.0", canaryPhase="rollback"), last)
    assert back.verdict.step.value == "rollback"
    assert back.verdict.log[-1].from_phase == "unreadable"


def test_unreadable_outputs_allow_the_steps_back_of_the_readable_phase() -> None:
    last = {**outputs("50", canary="v1.3.0"), "phaseSince": "yesterday"}
    refused = refusal(config(canaryVersion="v1.3.0", canaryPhase="100"), last)
    assert "phaseSince = 'yesterday'" in refused
    staged = check(config(canaryVersion="v1.3.0", canaryPhase="10"), last)
    assert staged.verdict.step.value == "step-back"
    assert any("only a step back is allowed" in w for w in staged.warnings)


def test_a_canary_phase_without_a_canary_version_is_unreadable() -> None:
    message = refusal(config(canaryVersion="v1.3.0", canaryPhase="50"), outputs("10"))
    assert "canaryVersion = None is not a version tag at phase 10" in message


def test_outputs_without_a_phase_are_not_a_first_deployment() -> None:
    message = refusal(config(canaryVersion="v1.3.0", canaryPhase="10"), {"stableVersion": "v1"})
    assert "phase = None" in message


# --- the cluster ---------------------------------------------------------------------------


def test_a_lost_state_is_not_a_first_deployment_while_the_cluster_runs_a_release() -> None:
    cluster = live(("stable", "v1.2.2", "none"))
    for change in (
        {"stableVersion": "v2.0.0"},
        {"canaryVersion": "v1.3.0", "canaryPhase": "10"},
        {},  # even the same release: the step is not a step back
    ):
        message = refusal(config(**change), None, cluster)
        assert "the stack's outputs say first deployment" in message
        assert "engine-stable runs v1.2.2 at phase none" in message
        assert "releaseAdoption" in message


def test_a_lost_state_still_rolls_back_the_canary_the_cluster_runs() -> None:
    cluster = live(("stable", "v1.2.2", "50"), ("canary", "v1.3.0", "50"))
    assert refusal(config(canaryVersion="v1.3.0", canaryPhase="100"), None, cluster)
    back = check(config(canaryVersion="v1.3.0", canaryPhase="rollback"), None, cluster)
    assert back.verdict.step.value == "rollback"
    staged = check(config(canaryVersion="v1.3.0", canaryPhase="10"), None, cluster)
    assert staged.verdict.step.value == "step-back"


def test_a_step_back_from_the_outputs_that_is_forward_on_the_cluster_is_refused() -> None:
    cluster = live(("stable", "v1.2.2", "10"), ("canary", "v1.3.0", "10"))
    message = refusal(
        config(canaryVersion="v1.3.0", canaryPhase="50"), outputs("100", canary="v1.3.0"), cluster
    )
    assert "from the cluster (phase 10)" in message
    assert "the stack's outputs say stable v1.2.2, canary v1.3.0 at phase 100" in message


def test_a_cluster_halfway_through_this_very_step_lets_it_be_retried() -> None:
    # An advance 10 -> 50 failed after the stable Deployment took its new annotations.
    cluster = live(("stable", "v1.2.2", "50"), ("canary", "v1.3.0", "10"))
    retried = check(
        config(canaryVersion="v1.3.0", canaryPhase="50"), outputs("10", canary="v1.3.0"), cluster
    )
    assert retried.verdict.step.value == "advance"
    assert not retried.warnings


def test_a_failed_update_that_recorded_its_outputs_can_be_retried() -> None:
    """The advance 10 -> 50 failed before the cluster took it, but the engine recorded the
    update's outputs: the Deployments still carry what the step before it deployed."""
    log = [
        {"at": LONG_AGO, "step": "start", "from": "none", "phase": "10",
         "stableVersion": "v1.2.2", "canaryVersion": "v1.3.0"},
        {"at": LONG_AGO, "step": "advance", "from": "10", "phase": "50",
         "stableVersion": "v1.2.2", "canaryVersion": "v1.3.0"},
    ]  # fmt: skip
    last = {**outputs("50", canary="v1.3.0"), "releaseLog": log}
    cluster = live(("stable", "v1.2.2", "10"), ("canary", "v1.3.0", "10"))
    retried = check(config(canaryVersion="v1.3.0", canaryPhase="50"), last, cluster)
    assert retried.verdict.step.value == "stay"
    # ... but not two steps behind: the cluster at none is not this release's last step.
    behind = live(("stable", "v1.2.2", "none"))
    assert "engine-stable runs v1.2.2 at phase none" in refusal(
        config(canaryVersion="v1.3.0", canaryPhase="100"), last, behind
    )


def test_a_cluster_that_agrees_or_runs_nothing_changes_nothing() -> None:
    agreeing = live(("stable", "v1.2.2", "none"))
    started = check(config(canaryVersion="v1.3.0", canaryPhase="10"), outputs("none"), agreeing)
    assert started.verdict.step.value == "start"
    first = check(config(), None, live())
    assert first.verdict.log[-1].step == "first-deployment"


def test_unreadable_annotations_are_a_disagreement() -> None:
    cluster = live(("stable", "", "none"))
    message = refusal(config(canaryVersion="v1.3.0", canaryPhase="10"), outputs("none"), cluster)
    assert "engine-stable with unreadable release annotations" in message
    swapped = LiveRelease(
        WHERE,
        tracks=(LiveTrack("stable", "engine-stable", "v1.2.2", "none", recorded_track="canary"),),
    )
    message = refusal(config(canaryVersion="v1.3.0", canaryPhase="10"), outputs("none"), swapped)
    assert "involution.dev/track='canary'" in message


def test_a_cluster_that_cannot_be_read_refuses_up_and_warns_in_preview() -> None:
    unknown = LiveRelease(WHERE, unknown="reading engine-stable: 403 Forbidden")
    raw = config(canaryVersion="v1.3.0", canaryPhase="10")
    message = refusal(raw, outputs("none"), unknown)
    assert "cannot be read (reading engine-stable: 403 Forbidden)" in message
    previewed = check(raw, outputs("none"), unknown, preview=True)
    assert previewed.verdict.step.value == "start"
    assert any("pulumi up will allow only a step back" in w for w in previewed.warnings)
    back = check(
        config(canaryVersion="v1.3.0", canaryPhase="rollback"),
        outputs("10", "v1.2.2", "v1.3.0"),
        unknown,
    )
    assert back.verdict.step.value == "rollback"


# --- adoption ------------------------------------------------------------------------------


def test_an_adoption_takes_over_the_release_the_cluster_runs_and_is_recorded() -> None:
    cluster = live(("stable", "v1.2.2", "50"), ("canary", "v1.3.0", "50"))
    adopted = check(
        config(canaryVersion="v1.3.0", canaryPhase="50", releaseAdoption=ADOPTION), None, cluster
    )
    assert adopted.verdict.step.value == "stay"
    entry = adopted.verdict.log[-1]
    assert entry.reason is not None and "state lost with the old backend" in entry.reason
    assert "ana.release" in entry.reason and "CHG-3001" in entry.reason
    assert entry.from_phase == "50"


def test_an_adoption_does_not_skip_the_soak_it_cannot_know() -> None:
    cluster = live(("stable", "v1.2.2", "50"), ("canary", "v1.3.0", "50"))
    message = refusal(
        config(canaryVersion="v1.3.0", canaryPhase="100", releaseAdoption=ADOPTION), None, cluster
    )
    assert "a known time in phase 50" in message


def test_an_adoption_is_judged_against_the_cluster_not_the_config() -> None:
    cluster = live(("stable", "v1.2.2", "none"))
    message = refusal(config(stableVersion="v2.0.0", releaseAdoption=ADOPTION), None, cluster)
    assert "stableVersion = 'v2.0.0'" in message
    assert "promotion from 100" in message


def test_an_expired_adoption_and_an_unneeded_one() -> None:
    cluster = live(("stable", "v1.2.2", "none"))
    expired = {**ADOPTION, "expiresAt": (NOW - timedelta(minutes=1)).isoformat()}
    assert "an adoption not expired" in refusal(config(releaseAdoption=expired), None, cluster)
    unneeded = check(config(releaseAdoption=ADOPTION), outputs("none"), cluster)
    assert any("nothing to adopt; remove it" in w for w in unneeded.warnings)


def test_adoption_config_is_checked_like_an_override() -> None:
    with pytest.raises(ConfigError) as bad:
        parse_settings(
            config("production", releaseAdoption={"reason": "x", "approvedBy": "ana"}),
            stack="production",
        )
    message = str(bad.value)
    assert "involution:releaseAdoption.ticket = <unset>: required in production" in message
    assert "involution:releaseAdoption.expiresAt = <unset>" in message
