"""What holds every step forward whatever the path allows: a freeze window, a stopped line.

Steps forward (start, advance, promote, retry, patch, and a stack's first deployment) are
refused inside a freeze window and while the line is stopped (or its file cannot be read);
steps back never are. A recorded `releaseOverride` with a ticket (in production also two
distinct approvers) passes one step through a freeze, once, and the step's releaseLog entry
records it; nothing passes a stopped line but `involution resume`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from involution.config.path import ReleaseOverride, format_duration
from involution.contract import Environment
from involution.errors import ConfigProblem
from involution.release.freeze import FreezeCalendar, Occurrence, shown
from involution.release.line import LineState, line_problem
from involution.release.path import FORWARD_STEPS, Verdict
from involution.release.state import DeployedRelease, rfc3339

# Distinct approvers a releaseOverride needs in production to pass a freeze (the release
# process's "multiple stakeholder approval"); elsewhere one, always with a ticket.
FREEZE_OVERRIDE_APPROVERS = 2


@dataclass(frozen=True)
class Holds:
    """The step as the holds leave it: refusals, warnings, info lines and the verdict (whose
    last releaseLog entry records an override that passed a freeze)."""

    verdict: Verdict
    problems: tuple[ConfigProblem, ...] = ()
    warnings: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()


def is_forward(verdict: Verdict, deployed: DeployedRelease | None) -> bool:
    return verdict.step in FORWARD_STEPS or deployed is None


def check_holds(
    verdict: Verdict,
    deployed: DeployedRelease | None,
    *,
    calendar: FreezeCalendar,
    override: ReleaseOverride | None,
    environment: Environment,
    line: LineState,
    now: datetime,
) -> Holds:
    forward = is_forward(verdict, deployed)
    what = "first deployment" if deployed is None else verdict.step.value
    problems: list[ConfigProblem] = []
    warnings: list[str] = []
    active = calendar.active(now)
    lifted = calendar.lifted_at(now)
    if forward and active:
        refusal = _override_refusal(override, environment, deployed, now)
        if refusal is None and override is not None:
            verdict = _record_override(verdict, override, active)
            warnings.append(
                f"releaseOverride passes this {what} through the freeze "
                f"{_windows(active)}: {override.reason} (approved by "
                f"{', '.join(override.approved_by)}, {override.ticket}); recorded in releaseLog"
            )
        else:
            problems += [_freeze_problem(o, now, lifted, refusal) for o in active]
    elif active:
        warnings.append(
            f"release freeze in effect ({_windows(active)}, lifts at {_when(lifted)}): "
            f"this {what} is not a step forward, so it is allowed"
        )
    problem = line_problem(line)
    if forward and problem is not None:
        problems.append(problem)
    elif problem is not None:
        warnings.append(f"{line.describe()}: this {what} is not a step forward, so it is allowed")
    return Holds(
        verdict=verdict,
        problems=tuple(problems),
        warnings=tuple(warnings),
        notices=freeze_notices(calendar, now),
    )


def freeze_notices(calendar: FreezeCalendar, now: datetime) -> tuple[str, ...]:
    """When the next window starts, or when the one in effect ends (a pull request's preview
    says it)."""
    active = calendar.active(now)
    if active:
        lifted = calendar.lifted_at(now)
        return (
            f"release freeze in effect: {_windows(active)}; steps forward are refused until "
            f"{_when(lifted)}{_in(lifted, now)}",
        )
    upcoming = calendar.next_start(now)
    if upcoming is None:
        return ()
    return (
        f"next release freeze: {upcoming.window.describe()} ({upcoming.window.reason}) from "
        f"{upcoming.describe()}{_in(upcoming.start, now, 'starts ')}",
    )


def _freeze_problem(
    occurrence: Occurrence, now: datetime, lifted: datetime | None, refusal: str | None
) -> ConfigProblem:
    window = occurrence.window
    chained = (
        f"; the freeze lifts at {_when(lifted)}"
        if lifted is None or lifted != occurrence.end
        else ""
    )
    hint = (
        f"the releaseOverride does not pass it ({refusal})"
        if refusal
        else "a releaseOverride with a ticket passes one step (production: two approvers)"
    )
    return ConfigProblem(
        window.key,
        window.source,
        f"a step forward outside the release freeze {window.describe()} ({window.reason}): "
        f"in effect from {occurrence.describe()}{_in(occurrence.end, now, 'ends ')}{chained}; "
        f"steps back are allowed; {hint}",
    )


def _override_refusal(
    override: ReleaseOverride | None,
    environment: Environment,
    deployed: DeployedRelease | None,
    now: datetime,
) -> str | None:
    """Why the override cannot pass a freeze; None when it can (or there is none)."""
    if override is None:
        return None
    if override.is_expired(now):
        assert override.expires_at is not None
        return f"it expired at {rfc3339(override.expires_at)}"
    if override.ticket is None:
        return "it has no ticket"
    needed = FREEZE_OVERRIDE_APPROVERS if environment is Environment.PRODUCTION else 1
    if len(override.approved_by) < needed:
        return (
            f"{len(override.approved_by)} approver(s); {needed} distinct approvers are needed "
            f"in {environment.value}"
        )
    log = deployed.log if deployed is not None else ()
    used = next((e for e in log if e.override == override.identity), None)
    if used is not None:
        return f"it was used at {rfc3339(used.at)} ({used.step}); one override passes one step"
    return None


def _record_override(
    verdict: Verdict, override: ReleaseOverride, active: tuple[Occurrence, ...]
) -> Verdict:
    if not verdict.log:
        return verdict
    entry = verdict.log[-1]
    parts = [entry.reason] if entry.reason else []
    if override.reason not in (entry.reason or ""):
        parts.append(f"override: {override.reason}")
    parts.append(f"through the freeze {_windows(active)}")
    entry = replace(entry, override=override.identity, reason="; ".join(parts))
    return replace(verdict, log=(*verdict.log[:-1], entry))


def _windows(active: tuple[Occurrence, ...]) -> str:
    return ", ".join(
        f"{o.window.describe()} ({o.window.reason}) until {shown(o.end, o.window.zone)}"
        for o in active
    )


def _when(moment: datetime | None) -> str:
    return rfc3339(moment) if moment is not None else "no time the windows let it"


def _in(moment: datetime | None, now: datetime, verb: str = "") -> str:
    if moment is None:
        return ""
    return f" ({verb}in {format_duration(moment - now)})"
