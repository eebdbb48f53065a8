"""Every check a `pulumi up` makes on the release before any resource is registered.

The path (order, soaks, versions, upstream) comes from `release.path.judge`; approvals and
quality gates guard traffic moving to a canary, so they apply to every step but a step back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from involution.config.release import check_approval, check_gates
from involution.contract import Environment
from involution.errors import PATH_HEADING, ConfigError, ConfigProblem
from involution.phases import Phase
from involution.release.guard import Guard, guard_release
from involution.release.holds import check_holds
from involution.release.line import RUNNING, LineState
from involution.release.live import LiveRelease
from involution.release.path import DesiredRelease, PathRules, Step, Verdict, judge
from involution.release.state import (
    RELEASE_LOG_LENGTH,
    DeployedRelease,
    LogEntry,
    UpstreamRelease,
)
from involution.settings import Settings


@dataclass(frozen=True)
class CheckedRelease:
    """A step the release path allows, with the warnings it raised."""

    verdict: Verdict
    warnings: tuple[str, ...]
    notices: tuple[str, ...] = ()  # info lines: when the next freeze window starts or ends


def desired_release(settings: Settings) -> DesiredRelease:
    return DesiredRelease(
        phase=settings.phase, stable=settings.stable_version, canary=settings.canary_version
    )


def check_release(
    settings: Settings,
    deployed: DeployedRelease | None,
    *,
    now: datetime,
    read_upstream: Callable[[str], UpstreamRelease] | None = None,
    live: LiveRelease | None = None,
    preview: bool = False,
    line: LineState = RUNNING,
) -> CheckedRelease:
    """The step this config asks for; raises one ConfigError naming every refusal.

    `deployed` is what the stack's outputs say, `live` what the cluster runs (None: not
    asked); when they cannot be read or disagree, only a step back passes (release.guard).
    `line` is the state of release-line.json (the program always reads it); a freeze window or
    a stopped line holds every step forward (release.holds)."""
    desired = desired_release(settings)
    guard = guard_release(
        deployed,
        desired,
        live,
        now=now,
        adoption=settings.path.adoption,
        preview=preview,
    )
    if guard.problems:
        raise ConfigError(list(guard.problems), PATH_HEADING)
    verdict = _judge(guard, desired, settings.path, now, read_upstream)
    deployed = guard.basis
    problems: list[ConfigProblem] = list(verdict.problems)
    warnings: list[str] = list(guard.warnings)
    if guard.back_only and not verdict.problems:
        warnings.append(
            f"only a step back is allowed ({'; '.join(guard.back_only)}): "
            f"this {verdict.step.value} is one"
        )
    production = settings.environment is Environment.PRODUCTION
    if not verdict.step.is_back and settings.phase is not Phase.ROLLBACK:
        if settings.phase.takes_traffic and settings.release_type.needs_approval:
            check_approval(
                settings.approval,
                kind=settings.release_type,
                now=now,
                production=production,
                problems=problems,
                warnings=warnings,
            )
        check_gates(settings.gates, production=production, problems=problems, warnings=warnings)
    override = settings.path.override
    if verdict.override_used and override is not None:
        warnings.append(
            f"releaseOverride skips the soak of phase {deployed.phase.value if deployed else '-'}: "
            f"{override.reason} (approved by {', '.join(override.approved_by)}"
            f"{', ' + override.ticket if override.ticket else ''}); recorded in releaseLog"
        )
    holds = check_holds(
        verdict,
        deployed,
        calendar=settings.freeze,
        override=override,
        environment=settings.environment,
        line=line,
        now=now,
    )
    problems += holds.problems
    warnings += holds.warnings
    if problems:
        raise ConfigError(problems, PATH_HEADING)
    return CheckedRelease(
        verdict=replace(holds.verdict, problems=()),
        warnings=tuple(warnings),
        notices=holds.notices,
    )


def _judge(
    guard: Guard,
    desired: DesiredRelease,
    rules: PathRules,
    now: datetime,
    read_upstream: Callable[[str], UpstreamRelease] | None,
) -> Verdict:
    """The verdict on the basis the guard chose; an adoption is recorded with the step."""
    if guard.adopted is not None:
        reason = "; ".join(r for r in (rules.reason, guard.adopted) if r)
        rules = replace(rules, reason=reason)
    basis = guard.basis
    if basis is not None and not basis.phase_readable:
        # No source says which phase runs: the guard let only `rollback` through.
        entry = LogEntry(
            at=now,
            step=Step.ROLLBACK.value,
            from_phase="unreadable",
            phase=desired.phase.value,
            stable_version=desired.stable.tag,
            canary_version=desired.canary.tag if desired.canary else None,
            reason=rules.reason,
        )
        return Verdict(
            step=Step.ROLLBACK, phase_since=now, soak_until=None, log=(*basis.log, entry)
        )
    verdict = judge(basis, desired, rules, now=now, read_upstream=read_upstream)
    if guard.adopted is not None and verdict.step is Step.STAY:
        # Staying on the adopted release changes nothing on the cluster but is still recorded.
        entry = LogEntry(
            at=now,
            step="adopt",
            from_phase=basis.phase.value if basis is not None else "-",
            phase=desired.phase.value,
            stable_version=desired.stable.tag,
            canary_version=desired.canary.tag if desired.canary else None,
            reason=rules.reason,
        )
        verdict = replace(verdict, log=(*verdict.log, entry)[-RELEASE_LOG_LENGTH:])
    return verdict
