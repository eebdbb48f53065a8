"""A freeze window and a stopped line hold every step forward and no step back; an override with
a ticket (production: two approvers) passes one step through a freeze, once; nothing but
`involution resume` passes a stopped line. On a frozen clock: Friday 2026-12-04 17:30 in Berlin,
inside the weekend window."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pulumi
import pytest

from harness import mockrun
from harness.mockrun import load_stack_config, run_program, to_config_text
from harness.scenarios import STACK_SECRETS, approval_expiring
from involution.errors import ConfigError
from involution.phases import Phase
from involution.release.checks import CheckedRelease, check_release
from involution.release.line import LINE_FILE, RUNNING, LineState
from involution.release.path import Step
from involution.release.state import DeployedRelease, LogEntry
from involution.settings import Settings, parse_settings
from involution.versions import EngineVersion

pytestmark = pytest.mark.unit

FRIDAY = datetime(2026, 12, 4, 16, 30, tzinfo=UTC)  # 17:30 in Berlin
THURSDAY = FRIDAY - timedelta(days=1)
WEEKEND = {"weekly": "Fri 16:00 - Mon 08:00 Europe/Berlin", "reason": "no weekend releases"}
STABLE, CANARY = EngineVersion.parse("v1.2.2"), EngineVersion.parse("v1.3.0")
STOPPED = LineState(
    "stopped", reason="INC-42: error budget spent", by="ana.release", at=FRIDAY - timedelta(hours=1)
)


def override(*approvers: str, ticket: str | None = "CHG-77", hours: float = 4) -> dict[str, Any]:
    return {
        "reason": "fix for INC-41 verified in staging",
        "approvedBy": list(approvers),
        "ticket": ticket,
        "expiresAt": (FRIDAY + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def raw_config(stack: str, phase: str, **overrides: Any) -> dict[str, str]:
    raw = load_stack_config(stack)
    values = {
        **STACK_SECRETS.get(stack, {}),
        "canaryVersion": "v1.3.0",
        "canaryPhase": phase,
        "approval": approval_expiring(FRIDAY, timedelta(days=5)),
        "freeze": [WEEKEND],
        **overrides,
    }
    for key, value in values.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = to_config_text(value)
    return raw


def settings(stack: str, phase: str, **overrides: Any) -> Settings:
    return parse_settings(raw_config(stack, phase, **overrides), stack=stack)


def at(phase: str, log: tuple[LogEntry, ...] = ()) -> DeployedRelease:
    return DeployedRelease(
        phase=Phase(phase),
        stable=STABLE,
        canary=CANARY if phase != "none" else None,
        phase_since=FRIDAY - timedelta(days=3),
        log=log,
    )


def check(
    chosen: Settings,
    deployed: DeployedRelease | None,
    *,
    now: datetime = FRIDAY,
    line: LineState = RUNNING,
) -> CheckedRelease:
    return check_release(chosen, deployed, now=now, line=line)


def refusal(
    chosen: Settings, deployed: DeployedRelease | None, **kwargs: Any
) -> tuple[ConfigError, str]:
    with pytest.raises(ConfigError) as raised:
        check(chosen, deployed, **kwargs)
    return raised.value, str(raised.value)


def test_a_step_forward_inside_the_window_is_refused_with_the_window_and_its_end() -> None:
    error, message = refusal(settings("production", "50"), at("10"))
    (problem,) = error.problems
    assert problem.key == "freeze[0]"
    assert problem.value == WEEKEND
    assert message == (
        "the release path refuses this step: involution:freeze[0] = "
        "{'weekly': 'Fri 16:00 - Mon 08:00 Europe/Berlin', 'reason': 'no weekend releases'}: "
        "a step forward outside the release freeze Fri 16:00 - Mon 08:00 Europe/Berlin "
        "(no weekend releases): in effect from 2026-12-04T16:00:00+01:00 until "
        "2026-12-07T08:00:00+01:00 (ends in 2d14h30m); steps back are allowed; a "
        "releaseOverride with a ticket passes one step (production: two approvers)"
    )


@pytest.mark.parametrize(
    ("stack", "phase", "deployed", "extra"),
    [
        ("production", "10", "none", {"promoteFrom": None}),  # start
        ("production", "100", "50", {}),  # advance
        ("dev", "10", "rollback", {}),  # retry
        ("dev", "none", "100", {"stableVersion": "v1.3.0", "canaryVersion": None}),  # promote
        ("dev", "none", "none", {"stableVersion": "v1.2.3", "canaryVersion": None}),  # patch
    ],
)
def test_every_step_forward_is_refused(
    stack: str, phase: str, deployed: str, extra: dict[str, Any]
) -> None:
    error, _ = refusal(settings(stack, phase, **extra), at(deployed))
    assert [p.key for p in error.problems] == ["freeze[0]"]


def test_a_first_deployment_is_a_step_forward() -> None:
    error, _ = refusal(settings("dev", "none", canaryVersion=None), None)
    assert [p.key for p in error.problems] == ["freeze[0]"]


@pytest.mark.parametrize(("frm", "to"), [("50", "10"), ("100", "50"), ("10", "rollback")])
def test_steps_back_pass_with_a_warning(frm: str, to: str) -> None:
    checked = check(settings("production", to), at(frm))
    assert checked.verdict.step.is_back
    assert any("is not a step forward, so it is allowed" in w for w in checked.warnings)
    assert checked.notices == (
        "release freeze in effect: Fri 16:00 - Mon 08:00 Europe/Berlin (no weekend releases) "
        "until 2026-12-07T08:00:00+01:00; steps forward are refused until 2026-12-07T07:00:00Z "
        "(in 2d14h30m)",
    )


def test_outside_the_window_steps_forward_pass_and_the_next_window_is_announced() -> None:
    checked = check(settings("production", "50"), at("10"), now=THURSDAY)
    assert checked.verdict.step is Step.ADVANCE
    assert checked.notices == (
        "next release freeze: Fri 16:00 - Mon 08:00 Europe/Berlin (no weekend releases) from "
        "2026-12-04T16:00:00+01:00 until 2026-12-07T08:00:00+01:00 (starts in 22h30m)",
    )


def test_production_override_needs_two_approvers_and_a_ticket() -> None:
    one = settings("production", "50", releaseOverride=override("ana.release"))
    _, message = refusal(one, at("10"))
    assert "the releaseOverride does not pass it (1 approver(s); 2 distinct approvers" in message
    two = settings("production", "50", releaseOverride=override("ana.release", "raj.sre"))
    checked = check(two, at("10"))
    assert two.path.override is not None
    entry = checked.verdict.log[-1]
    assert (entry.step, entry.override) == ("advance", two.path.override.identity)
    assert entry.reason == (
        "override: fix for INC-41 verified in staging; through the freeze Fri 16:00 - Mon 08:00 "
        "Europe/Berlin (no weekend releases) until 2026-12-07T08:00:00+01:00"
    )
    assert any(
        "releaseOverride passes this advance through the freeze" in w for w in checked.warnings
    )
    # One override passes one step: the next step forward with it is refused.
    _, again = refusal(
        settings("production", "100", releaseOverride=override("ana.release", "raj.sre")),
        at("50", log=checked.verdict.log),
    )
    assert "it was used at 2026-12-04T16:30:00Z (advance); one override passes one step" in again


@pytest.mark.parametrize(
    ("recorded", "why"),
    [
        (override("ana.release", ticket=None), "it has no ticket"),
        (override("ana.release", hours=-1), "it expired at 2026-12-04T15:30:00Z"),
    ],
)
def test_an_override_without_a_ticket_or_expired_passes_nothing(
    recorded: dict[str, Any], why: str
) -> None:
    _, message = refusal(settings("dev", "50", releaseOverride=recorded), at("10"))
    assert f"the releaseOverride does not pass it ({why})" in message


def test_in_dev_one_approver_with_a_ticket_passes() -> None:
    checked = check(settings("dev", "50", releaseOverride=override("ana.release")), at("10"))
    assert checked.verdict.log[-1].override is not None


def test_a_stopped_line_refuses_every_step_forward_even_outside_a_window() -> None:
    _, message = refusal(settings("dev", "50", freeze=None), at("10"), now=THURSDAY, line=STOPPED)
    assert message == (
        "the release path refuses this step: release-line.json = 'stopped': the line is stopped "
        "since 2026-12-04T15:30:00Z by ana.release: INC-42: error budget spent; every step "
        "forward on every stack of the project is refused until `involution resume` (the "
        "release-line workflow) is committed; steps back are allowed"
    )


def test_no_override_passes_a_stopped_line() -> None:
    recorded = override("ana.release", "raj.sre")
    error, _ = refusal(
        settings("production", "50", releaseOverride=recorded), at("10"), line=STOPPED
    )
    assert [p.key for p in error.problems] == [LINE_FILE]


def test_inside_a_window_with_the_line_stopped_both_are_named() -> None:
    error, message = refusal(settings("production", "50"), at("10"), line=STOPPED)
    assert [p.key for p in error.problems] == ["freeze[0]", LINE_FILE]
    assert "\n  - release-line.json = 'stopped'" in message


def test_an_unreadable_line_refuses_steps_forward_and_never_steps_back() -> None:
    broken = LineState("unreadable", detail="not JSON: Expecting value at line 1")
    _, message = refusal(settings("dev", "50", freeze=None), at("10"), line=broken)
    assert "release-line.json = 'unreadable': release-line.json cannot be read (not JSON" in message
    back = check(settings("dev", "rollback", freeze=None), at("50"), line=broken)
    assert back.verdict.step is Step.ROLLBACK
    assert any("cannot be read" in w for w in back.warnings)


# ---------------------------------------------------------------- the program, mocked -----


def mocked(
    stack: str, phase: str, deployed: str, *, now: datetime = FRIDAY, **overrides: Any
) -> mockrun.MockRun:
    raw = raw_config(stack, phase, **overrides)
    return run_program(
        stack,
        raw,
        now=now,
        deployed={
            "phase": deployed,
            "stableVersion": "v1.2.2",
            "canaryVersion": "v1.3.0",
            "phaseSince": (now - timedelta(days=3)).isoformat(),
        },
    )


def test_the_program_refuses_before_any_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    registered: list[str] = []
    original = mockrun.RecordingMocks.new_resource

    def spy(self: Any, args: Any) -> Any:
        if args.typ != mockrun.STACK_REFERENCE:
            registered.append(args.name)
        return original(self, args)

    monkeypatch.setattr(mockrun.RecordingMocks, "new_resource", spy)
    with pytest.raises(ConfigError) as raised:
        mocked("production", "50", "10")
    assert isinstance(raised.value, pulumi.RunError)  # printed without a traceback
    assert [p.key for p in raised.value.problems] == ["freeze[0]"]
    assert registered == []


def test_the_program_reads_the_line_from_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from program import release_line

    line = tmp_path / LINE_FILE
    line.write_text(STOPPED.text())
    monkeypatch.setattr(release_line, "LINE_PATH", line)
    with pytest.raises(ConfigError) as raised:
        mocked("dev", "50", "10", now=THURSDAY, freeze=None)
    assert [p.key for p in raised.value.problems] == [LINE_FILE]
    line.unlink()  # a missing file holds the line too
    with pytest.raises(ConfigError) as missing:
        mocked("dev", "50", "10", now=THURSDAY, freeze=None)
    assert "release-line.json cannot be read (No such file or directory" in str(missing.value)
    assert mocked("dev", "rollback", "10", now=THURSDAY, freeze=None).outputs["phase"] == "rollback"


def test_the_committed_line_runs() -> None:
    from program.release_line import read_line

    assert read_line().running


def test_the_program_records_the_windows_and_the_step_time_for_the_pack() -> None:
    run = mocked("production", "10", "50")
    annotations = run.named("Deployment", "engine-stable").metadata["annotations"]
    assert json.loads(annotations["involution.dev/freeze"]) == [WEEKEND]
    assert annotations["involution.dev/release-step"] == "step-back"
    assert annotations["involution.dev/release-step-at"] == "2026-12-04T16:30:00Z"
    plain = mocked("production", "10", "10", freeze=None)
    assert (
        "involution.dev/freeze"
        not in plain.named("Deployment", "engine-stable").metadata["annotations"]
    )
