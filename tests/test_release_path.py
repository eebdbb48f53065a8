"""The release path as a table: every allowed step, every refusal, soaks, override, upstream."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from involution.config.path import (
    DEFAULT_SOAK,
    ReleaseOverride,
    Soak,
    format_duration,
    parse_duration,
)
from involution.contract import Environment
from involution.phases import Phase
from involution.release.path import (
    TRANSITIONS,
    DesiredRelease,
    PathRules,
    Step,
    Verdict,
    allowed_next,
    judge,
)
from involution.release.state import DeployedRelease, LogEntry, UpstreamRelease
from involution.versions import EngineVersion

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
V = EngineVersion.parse
STABLE, CANARY = V("v1.2.2"), V("v1.3.0")
NO_SOAK = PathRules(
    soak=Soak(tuple(DEFAULT_SOAK[Environment.DEV].items())), override=None, promote_from=None
)
PRODUCTION = PathRules(
    soak=Soak(tuple(DEFAULT_SOAK[Environment.PRODUCTION].items())),
    override=None,
    promote_from=None,
)
OVERRIDE = ReleaseOverride(
    reason="hotfix for CHG-1",
    approved_by=("ana",),
    ticket="CHG-9",
    expires_at=NOW + timedelta(hours=1),
)

pytestmark = pytest.mark.unit


def deployed(
    phase: str,
    *,
    stable: EngineVersion = STABLE,
    canary: EngineVersion | None = CANARY,
    since: timedelta = timedelta(days=10),
    log: tuple[LogEntry, ...] = (),
) -> DeployedRelease:
    return DeployedRelease(
        phase=Phase(phase),
        stable=stable,
        canary=None if phase == "none" and canary is CANARY else canary,
        phase_since=NOW - since,
        log=log,
    )


def desired(
    phase: str, *, stable: EngineVersion = STABLE, canary: EngineVersion | None = CANARY
) -> DesiredRelease:
    return DesiredRelease(phase=Phase(phase), stable=stable, canary=canary)


def run(
    frm: DeployedRelease | None, to: DesiredRelease, rules: PathRules = NO_SOAK, **kwargs: object
) -> Verdict:
    return judge(frm, to, rules, now=NOW, **kwargs)  # type: ignore[arg-type]


def keys(verdict: Verdict) -> list[str]:
    return [p.key for p in verdict.problems]


ALLOWED = [
    ("none", "none", Step.STAY),
    ("none", "10", Step.START),
    ("none", "shadow", Step.START),
    ("shadow", "shadow", Step.STAY),
    ("shadow", "10", Step.ADVANCE),
    ("shadow", "rollback", Step.ROLLBACK),
    ("10", "10", Step.STAY),
    ("10", "50", Step.ADVANCE),
    ("10", "rollback", Step.ROLLBACK),
    ("50", "50", Step.STAY),
    ("50", "100", Step.ADVANCE),
    ("50", "10", Step.STEP_BACK),
    ("50", "rollback", Step.ROLLBACK),
    ("100", "100", Step.STAY),
    ("100", "50", Step.STEP_BACK),
    ("100", "rollback", Step.ROLLBACK),
    ("rollback", "none", Step.CLOSE),
    ("rollback", "10", Step.RETRY),
    ("rollback", "rollback", Step.STAY),
]


@pytest.mark.parametrize(("frm", "to", "step"), ALLOWED)
def test_allowed_steps(frm: str, to: str, step: Step) -> None:
    verdict = run(deployed(frm), desired(to))
    assert verdict.problems == ()
    assert verdict.step is step


def test_the_table_is_exactly_the_release_process() -> None:
    assert {(f.value, t.value): s for (f, t), s in TRANSITIONS.items()} == {
        (f, t): s for f, t, s in ALLOWED
    }


REFUSED = [
    ("none", "50"),
    ("none", "100"),
    ("none", "rollback"),
    ("10", "100"),
    ("10", "none"),
    ("50", "none"),
    ("100", "10"),
    ("100", "none"),
    ("rollback", "50"),
    ("rollback", "100"),
    ("shadow", "none"),
    ("shadow", "50"),
    ("shadow", "100"),
    ("10", "shadow"),
    ("50", "shadow"),
    ("100", "shadow"),
    ("rollback", "shadow"),
]


@pytest.mark.parametrize(("frm", "to"), REFUSED)
def test_refused_steps_name_the_phase_and_what_is_allowed(frm: str, to: str) -> None:
    verdict = run(deployed(frm), desired(to))
    assert keys(verdict) == ["canaryPhase"]
    problem = verdict.problems[0]
    assert problem.value == to
    assert f"deployed phase {frm}" in problem.allowed
    for allowed in allowed_next(Phase(frm)):
        assert allowed in problem.allowed


def test_first_deployment_starts_from_none() -> None:
    assert run(None, desired("none", canary=None)).step is Step.STAY
    assert run(None, desired("10")).step is Step.START
    assert keys(run(None, desired("50"))) == ["canaryPhase"]
    first = run(None, desired("none", canary=None))
    assert [e.step for e in first.log] == ["first-deployment"]


@pytest.mark.parametrize("phase", ["10", "50", "100"])
def test_another_canary_version_while_one_is_live_is_refused(phase: str) -> None:
    verdict = run(deployed(phase), desired(phase, canary=V("v1.4.0")))
    assert keys(verdict) == ["canaryVersion"]
    assert "v1.3.0" in verdict.problems[0].allowed


def test_retry_after_rollback_is_the_same_version_only() -> None:
    assert keys(run(deployed("rollback"), desired("10", canary=V("v1.4.0")))) == ["canaryVersion"]
    # Closing first, then a new canary, is the way.
    assert run(deployed("rollback"), desired("none", canary=V("v1.4.0"))).step is Step.CLOSE


def test_promotion_from_100() -> None:
    verdict = run(deployed("100"), desired("none", stable=CANARY, canary=None))
    assert verdict.step is Step.PROMOTE
    assert verdict.log[-1].step == "promote"
    half = run(deployed("100"), desired("50", stable=CANARY, canary=None))
    assert keys(half) == ["canaryPhase"]


@pytest.mark.parametrize(("version", "step"), [("v1.2.3", Step.PATCH), ("v1.2.1", Step.DOWNGRADE)])
def test_stable_patch_directly_and_downgrade(version: str, step: Step) -> None:
    verdict = run(deployed("none"), desired("none", stable=V(version), canary=None))
    assert verdict.problems == ()
    assert verdict.step is step


@pytest.mark.parametrize("version", ["v1.3.0", "v2.0.0"])
def test_minor_or_major_stable_directly_is_refused(version: str) -> None:
    verdict = run(deployed("none"), desired("none", stable=V(version), canary=None))
    assert keys(verdict) == ["stableVersion"]
    assert "only by promotion from 100" in verdict.problems[0].allowed


def test_patch_with_a_live_canary_is_refused_but_downgrade_with_rollback_is_accepted() -> None:
    assert keys(run(deployed("10"), desired("10", stable=V("v1.2.3")))) == ["stableVersion"]
    back = run(deployed("10"), desired("rollback", stable=V("v1.2.1")))
    assert back.step is Step.DOWNGRADE
    forward = run(deployed("10"), desired("50", stable=V("v1.2.1")))
    assert keys(forward) == ["canaryPhase"]


@pytest.mark.parametrize(("frm", "to", "soak_phase"), [("10", "50", "10"), ("50", "100", "50")])
def test_advancing_inside_the_soak_is_refused_with_time_in_phase_and_left(
    frm: str, to: str, soak_phase: str
) -> None:
    verdict = run(deployed(frm, since=timedelta(hours=3)), desired(to), PRODUCTION)
    assert keys(verdict) == [f"soak.{soak_phase}"]
    allowed = verdict.problems[0].allowed
    assert "live for 3h of its 1d soak, 21h left" in allowed
    assert "2026-11-25T09:00:00Z" in allowed


def test_promotion_waits_72_hours_at_100() -> None:
    early = run(
        deployed("100", since=timedelta(hours=71)),
        desired("none", stable=CANARY, canary=None),
        PRODUCTION,
    )
    assert keys(early) == ["soak.100"]
    late = run(
        deployed("100", since=timedelta(hours=72)),
        desired("none", stable=CANARY, canary=None),
        PRODUCTION,
    )
    assert late.step is Step.PROMOTE


@pytest.mark.parametrize("to", ["10", "rollback"])
def test_steps_back_are_never_blocked_by_a_soak(to: str) -> None:
    verdict = run(deployed("50", since=timedelta(seconds=1)), desired(to), PRODUCTION)
    assert verdict.problems == ()


def test_override_skips_one_soak_once_and_is_logged() -> None:
    rules = PathRules(soak=PRODUCTION.soak, override=OVERRIDE, promote_from=None)
    first = run(deployed("10", since=timedelta(minutes=5)), desired("50"), rules)
    assert first.problems == ()
    assert first.override_used
    assert first.log[-1].override == OVERRIDE.identity
    assert first.log[-1].reason == f"override: {OVERRIDE.reason}"
    again = run(deployed("50", since=timedelta(minutes=5), log=first.log), desired("100"), rules)
    assert keys(again) == ["releaseOverride"]
    assert "one override skips one soak" in again.problems[0].allowed


def test_an_expired_override_skips_nothing() -> None:
    lapsed = ReleaseOverride("r", ("ana",), "CHG-9", NOW - timedelta(seconds=1))
    rules = PathRules(soak=PRODUCTION.soak, override=lapsed, promote_from=None)
    verdict = run(deployed("10", since=timedelta(minutes=5)), desired("50"), rules)
    assert keys(verdict) == ["soak.10"]
    assert "expired" in verdict.problems[0].allowed


def test_override_never_skips_the_order() -> None:
    rules = PathRules(soak=PRODUCTION.soak, override=OVERRIDE, promote_from=None)
    assert keys(run(deployed("10"), desired("100"), rules)) == ["canaryPhase"]


def test_promote_from_checks_the_upstream_only_when_a_version_arrives() -> None:
    rules = PathRules(soak=NO_SOAK.soak, override=None, promote_from="staging")
    reads: list[str] = []

    def upstream(runs: EngineVersion | None) -> object:
        def read(stack: str) -> UpstreamRelease:
            reads.append(stack)
            return UpstreamRelease(stack=stack, stable=runs)

        return read

    refused = run(deployed("none"), desired("10"), rules, read_upstream=upstream(STABLE))
    assert keys(refused) == ["promoteFrom"]
    assert "staging runs v1.2.2" in refused.problems[0].allowed
    never = run(deployed("none"), desired("10"), rules, read_upstream=upstream(None))
    assert "never deployed" in never.problems[0].allowed
    assert (
        run(deployed("none"), desired("10"), rules, read_upstream=upstream(CANARY)).problems == ()
    )
    patch = run(
        deployed("none"),
        desired("none", stable=V("v1.2.3"), canary=None),
        rules,
        read_upstream=upstream(V("v1.2.3")),
    )
    assert patch.step is Step.PATCH
    reads.clear()
    assert (
        run(deployed("50"), desired("rollback"), rules, read_upstream=upstream(None)).problems == ()
    )
    assert reads == []


def test_phase_since_and_soak_until() -> None:
    stay = run(deployed("10", since=timedelta(hours=2)), desired("10"), PRODUCTION)
    assert stay.phase_since == NOW - timedelta(hours=2)
    assert stay.soak_until == NOW + timedelta(hours=22)
    assert stay.log == ()
    moved = run(deployed("10"), desired("50"), PRODUCTION)
    assert moved.phase_since == NOW
    assert moved.soak_until == NOW + timedelta(hours=24)
    assert run(deployed("50"), desired("rollback"), PRODUCTION).soak_until is None


def test_release_log_round_trips_through_outputs_and_is_bounded() -> None:
    entries = tuple(
        LogEntry(NOW - timedelta(minutes=i), "advance", "10", "50", "v1.2.2", "v1.3.0")
        for i in range(25)
    )
    outputs = {
        "phase": "50",
        "stableVersion": "v1.2.2",
        "canaryVersion": "v1.3.0",
        "phaseSince": "2026-11-24T11:00:00Z",
        "releaseLog": [e.as_record() for e in entries],
    }
    back = DeployedRelease.from_outputs(outputs)
    assert back is not None
    assert back.log == entries
    assert back.phase_since == NOW - timedelta(hours=1)
    verdict = run(back, desired("rollback"))
    assert len(verdict.log) == 20
    assert verdict.log[-1].step == "rollback"
    assert DeployedRelease.from_outputs({}) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("24h", timedelta(hours=24)),
        ("90m", timedelta(minutes=90)),
        ("1h30m", timedelta(minutes=90)),
        ("30s", timedelta(seconds=30)),
        ("0s", timedelta(0)),
        ("3d", timedelta(days=3)),
    ],
)
def test_durations(text: str, value: timedelta) -> None:
    assert parse_duration(text) == value
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize("text", ["", "24", "1.5h", "h", "-1h", "24 hours"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_a_deployment_without_phase_since_cannot_skip_its_soak() -> None:
    legacy = DeployedRelease(phase=Phase.P10, stable=STABLE, canary=CANARY, phase_since=None)
    refused = run(legacy, desired("50"), PRODUCTION)
    assert keys(refused) == ["soak.10"]
    stay = run(legacy, desired("10"), PRODUCTION)
    assert stay.problems == ()
    assert stay.phase_since == NOW


def test_the_release_reason_is_logged_with_the_step() -> None:
    rules = PathRules(soak=NO_SOAK.soak, override=None, promote_from=None, reason="CHG-5 go")
    assert run(deployed("10"), desired("50"), rules).log[-1].reason == "CHG-5 go"
    assert run(deployed("10"), desired("10"), rules).log == ()


def test_shadow_to_10_needs_no_soak_even_in_production() -> None:
    """Shadow has no soak of its own (it serves no answers): 10 may follow it at once."""
    verdict = run(deployed("shadow", since=timedelta(seconds=1)), desired("10"), PRODUCTION)
    assert verdict.problems == ()
    assert verdict.step is Step.ADVANCE
    assert verdict.soak_until == NOW + timedelta(hours=24)  # the soak of 10 starts


def test_a_shadow_canary_keeps_its_version() -> None:
    verdict = run(deployed("shadow"), desired("shadow", canary=V("v1.4.0")))
    assert keys(verdict) == ["canaryVersion"]
