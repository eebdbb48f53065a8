"""The release path: which step the config asks for, given what the stack last deployed.

There is no controller in the cluster, so `pulumi up` itself keeps every release on the path of
docs/release-process.md: phase order, soaks, patch versus minor/major, the upstream stack. The
deployed state comes from the stack's own last outputs (`program.last_release` reads them).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from involution.config.path import ReleaseOverride, Soak, format_duration
from involution.errors import ConfigProblem
from involution.phases import Phase
from involution.release.state import (
    RELEASE_LOG_LENGTH,
    DeployedRelease,
    LogEntry,
    UpstreamRelease,
    rfc3339,
)
from involution.versions import EngineVersion, ReleaseType, release_type


class Step(enum.Enum):
    """What a `pulumi up` does to the release."""

    STAY = "stay"
    START = "start"  # none -> 10 or none -> shadow: a new canary
    ADVANCE = "advance"  # shadow -> 10, 10 -> 50, 50 -> 100
    PROMOTE = "promote"  # 100 -> none, stableVersion := the canary
    STEP_BACK = "step-back"  # 100 -> 50, 50 -> 10
    ROLLBACK = "rollback"  # a canary phase -> rollback
    CLOSE = "close"  # rollback -> none
    RETRY = "retry"  # rollback -> 10, the same version
    PATCH = "patch"  # stableVersion := a patch of it, no canary
    DOWNGRADE = "downgrade"  # stableVersion := an older version

    @property
    def is_back(self) -> bool:
        """Steps back are never blocked by a soak, an approval or a gate."""
        return self in (Step.STEP_BACK, Step.ROLLBACK, Step.CLOSE, Step.DOWNGRADE)

    @property
    def needs_soak(self) -> bool:
        return self in (Step.ADVANCE, Step.PROMOTE)

    @property
    def introduces_version(self) -> bool:
        """Steps that bring a version to traffic for the first time on this stack."""
        return self in (Step.START, Step.RETRY, Step.PATCH)


# Steps that move traffic onto a version: what a freeze window or a stopped line refuses.
FORWARD_STEPS = (Step.START, Step.ADVANCE, Step.PROMOTE, Step.RETRY, Step.PATCH)

# (deployed phase, configured phase) -> step, with the same canaryVersion.
TRANSITIONS: Mapping[tuple[Phase, Phase], Step] = {
    (Phase.NONE, Phase.NONE): Step.STAY,
    (Phase.NONE, Phase.P10): Step.START,
    (Phase.NONE, Phase.SHADOW): Step.START,
    (Phase.SHADOW, Phase.SHADOW): Step.STAY,
    (Phase.SHADOW, Phase.P10): Step.ADVANCE,  # no soak of its own: soak.of(shadow) is 0
    (Phase.SHADOW, Phase.ROLLBACK): Step.ROLLBACK,
    (Phase.P10, Phase.P10): Step.STAY,
    (Phase.P10, Phase.P50): Step.ADVANCE,
    (Phase.P10, Phase.ROLLBACK): Step.ROLLBACK,
    (Phase.P50, Phase.P50): Step.STAY,
    (Phase.P50, Phase.P100): Step.ADVANCE,
    (Phase.P50, Phase.P10): Step.STEP_BACK,
    (Phase.P50, Phase.ROLLBACK): Step.ROLLBACK,
    (Phase.P100, Phase.P100): Step.STAY,
    (Phase.P100, Phase.P50): Step.STEP_BACK,
    (Phase.P100, Phase.ROLLBACK): Step.ROLLBACK,
    (Phase.ROLLBACK, Phase.ROLLBACK): Step.STAY,
    (Phase.ROLLBACK, Phase.NONE): Step.CLOSE,
    (Phase.ROLLBACK, Phase.P10): Step.RETRY,
}
LIVE_CANARY_PHASES = (Phase.P10, Phase.P50, Phase.P100)
# Phases whose canary version is deployed with pods (and sees requests): its version is fixed.
CANARY_VERSION_PHASES = (Phase.SHADOW, *LIVE_CANARY_PHASES)


def allowed_next(phase: Phase) -> list[str]:
    """What may follow `phase`, as an operator reads it."""
    nexts = [to.value for (frm, to) in TRANSITIONS if frm is phase]
    if phase is Phase.P100:
        nexts.append("promotion (stableVersion := canaryVersion, canaryVersion removed, none)")
    return nexts


@dataclass(frozen=True)
class DesiredRelease:
    """What the config asks for."""

    phase: Phase
    stable: EngineVersion
    canary: EngineVersion | None


@dataclass(frozen=True)
class PathRules:
    """The stack's rules for the path."""

    soak: Soak
    override: ReleaseOverride | None
    promote_from: str | None
    reason: str | None = None  # `releaseReason`: recorded with the step in releaseLog
    # `releaseAdoption`: take over the release the cluster runs (release.guard)
    adoption: ReleaseOverride | None = None


@dataclass(frozen=True)
class Verdict:
    """The step, when its phase began, when the next step forward is allowed, the log."""

    step: Step
    phase_since: datetime
    soak_until: datetime | None
    log: tuple[LogEntry, ...]
    override_used: bool = False
    problems: tuple[ConfigProblem, ...] = field(default=())


def judge(
    deployed: DeployedRelease | None,
    desired: DesiredRelease,
    rules: PathRules,
    *,
    now: datetime,
    read_upstream: Callable[[str], UpstreamRelease] | None = None,
) -> Verdict:
    """Classify the step and check it against the path; problems say why it is refused.

    `read_upstream` is called only for a step that brings a version to this stack, so a stack
    whose upstream was never deployed can still stay, step back and roll back."""
    problems: list[ConfigProblem] = []
    step = _classify(deployed, desired, problems)
    override_used = False
    if step is not None and step.needs_soak and deployed is not None:
        override_used = _check_soak(deployed, rules, now, problems)
    if step is not None and step.introduces_version and rules.promote_from is not None:
        version = desired.stable if step is Step.PATCH else desired.canary
        upstream = read_upstream(rules.promote_from) if read_upstream is not None else None
        _check_upstream(rules.promote_from, upstream, version, problems)
    step = step or Step.STAY
    if step is Step.STAY and deployed is not None and deployed.phase_since is not None:
        since = deployed.phase_since
    else:
        since = now
    log = deployed.log if deployed is not None else ()
    if step is not Step.STAY or deployed is None:
        entry = LogEntry(
            at=now,
            step=step.value if deployed is not None else "first-deployment",
            from_phase=deployed.phase.value if deployed is not None else "-",
            phase=desired.phase.value,
            stable_version=desired.stable.tag,
            canary_version=desired.canary.tag if desired.canary else None,
            override=rules.override.identity if override_used and rules.override else None,
            reason=_reason(rules, override_used),
        )
        log = (*log, entry)[-RELEASE_LOG_LENGTH:]
    soak = rules.soak.of(desired.phase)
    soak_until = since + soak if desired.phase in LIVE_CANARY_PHASES else None
    return Verdict(
        step=step,
        phase_since=since,
        soak_until=soak_until,
        log=log,
        override_used=override_used,
        problems=tuple(problems),
    )


def classify(deployed: DeployedRelease | None, desired: DesiredRelease) -> Step | None:
    """The step from `deployed` to `desired` as `judge` names it, without its checks (soaks,
    upstream); None when the path has no such step. The release report reads history by it."""
    return _classify(deployed, desired, [])


def _reason(rules: PathRules, override_used: bool) -> str | None:
    parts = [rules.reason] if rules.reason else []
    if override_used and rules.override is not None and rules.override.reason != rules.reason:
        parts.append(f"override: {rules.override.reason}")
    return "; ".join(parts) or None


def _classify(
    deployed: DeployedRelease | None, desired: DesiredRelease, problems: list[ConfigProblem]
) -> Step | None:
    if deployed is None:  # a first deployment starts from `none`, with any stable version
        return _phase_step(Phase.NONE, desired.phase, problems)
    if deployed.stable is not None and desired.stable != deployed.stable:
        return _stable_change(deployed, desired, problems)
    if deployed.phase in CANARY_VERSION_PHASES and desired.canary != deployed.canary:
        live = deployed.canary.tag if deployed.canary else "none"
        problems.append(
            ConfigProblem(
                "canaryVersion",
                desired.canary.tag if desired.canary else None,
                f"{live}, the canary live at phase {deployed.phase.value}: roll it back "
                "(canaryPhase rollback) and close it before another version",
            )
        )
        return None
    if (
        deployed.phase is Phase.ROLLBACK
        and desired.phase is Phase.P10
        and desired.canary != deployed.canary
    ):
        problems.append(
            ConfigProblem(
                "canaryVersion",
                desired.canary.tag if desired.canary else None,
                f"{deployed.canary.tag if deployed.canary else 'none'} to retry the rolled-back "
                "canary; close it first (canaryPhase none) to start another version",
            )
        )
        return None
    return _phase_step(deployed.phase, desired.phase, problems)


def _phase_step(frm: Phase, to: Phase, problems: list[ConfigProblem]) -> Step | None:
    step = TRANSITIONS.get((frm, to))
    if step is None:
        problems.append(
            ConfigProblem(
                "canaryPhase",
                to.value,
                f"a next phase of the deployed phase {frm.value}: {', '.join(allowed_next(frm))}",
            )
        )
    return step


def _stable_change(
    deployed: DeployedRelease, desired: DesiredRelease, problems: list[ConfigProblem]
) -> Step | None:
    old = deployed.stable
    assert old is not None
    new = desired.stable
    if deployed.phase is Phase.P100 and deployed.canary == new:
        return _promotion(desired, problems)
    if new < old:
        return _downgrade(deployed, desired, problems)
    kind = release_type(old, new)
    if kind is ReleaseType.PATCH:
        if deployed.phase is Phase.NONE and desired.phase is Phase.NONE and desired.canary is None:
            return Step.PATCH
        problems.append(
            ConfigProblem(
                "stableVersion",
                new.tag,
                f"{old.tag} while a canary is configured or live (phase "
                f"{deployed.phase.value}): a patch goes directly to stable only with no canary",
            )
        )
        return None
    problems.append(
        ConfigProblem(
            "stableVersion",
            new.tag,
            f"{old.tag} or an older version: a {kind.value} version reaches stable only by "
            "promotion from 100 (set canaryVersion and canaryPhase 10 to start its canary)",
        )
    )
    return None


def _promotion(desired: DesiredRelease, problems: list[ConfigProblem]) -> Step | None:
    if desired.phase is Phase.NONE and desired.canary is None:
        return Step.PROMOTE
    problems.append(
        ConfigProblem(
            "canaryPhase",
            desired.phase.value,
            "none with canaryVersion removed: promotion makes the canary stable and ends it",
        )
    )
    return None


def _downgrade(
    deployed: DeployedRelease, desired: DesiredRelease, problems: list[ConfigProblem]
) -> Step | None:
    """An emergency rollback after a promotion: always accepted, recorded; one change at a
    time, so the phase may only stay or step back with it."""
    step = _phase_step(deployed.phase, desired.phase, problems)
    if step is None:
        return None
    if step is Step.STAY or step.is_back:
        return Step.DOWNGRADE
    problems.append(
        ConfigProblem(
            "canaryPhase",
            desired.phase.value,
            f"{deployed.phase.value} or a step back while stableVersion goes back to "
            f"{desired.stable.tag}: one change at a time",
        )
    )
    return None


def _check_soak(
    deployed: DeployedRelease, rules: PathRules, now: datetime, problems: list[ConfigProblem]
) -> bool:
    """True when the soak is skipped by the override (which is then recorded)."""
    soak = rules.soak.of(deployed.phase)
    since = deployed.phase_since
    if soak.total_seconds() <= 0:
        return False
    if since is None:  # deployed before phaseSince was recorded: the soak cannot be judged
        problems.append(
            ConfigProblem(
                f"soak.{deployed.phase.value}",
                format_duration(soak),
                f"a known time in phase {deployed.phase.value}: the last deployment recorded no "
                "phaseSince; `pulumi up` at the same phase records it, the soak counts from then",
            )
        )
        return False
    in_phase = now - since
    if in_phase >= soak:
        return False
    override = rules.override
    if override is not None and not override.is_expired(now):
        used = next((e for e in deployed.log if e.override == override.identity), None)
        if used is None:
            return True
        problems.append(
            ConfigProblem(
                "releaseOverride",
                override.as_record(),
                f"an override not used before: this one skipped the soak of {used.from_phase} "
                f"at {rfc3339(used.at)}; one override skips one soak",
            )
        )
        return False
    lapsed = " (the releaseOverride has expired)" if override is not None else ""
    problems.append(
        ConfigProblem(
            f"soak.{deployed.phase.value}",
            format_duration(soak),
            f"phase {deployed.phase.value} live for {format_duration(in_phase)} of its "
            f"{format_duration(soak)} soak, {format_duration(soak - in_phase)} left: the next "
            f"step forward is allowed from {rfc3339(since + soak)}{lapsed}",
        )
    )
    return False


def _check_upstream(
    stack: str,
    upstream: UpstreamRelease | None,
    version: EngineVersion | None,
    problems: list[ConfigProblem],
) -> None:
    runs = upstream.stable if upstream is not None else None
    if version is not None and runs == version:
        return
    shown = runs.tag if runs is not None else "nothing (never deployed)"
    problems.append(
        ConfigProblem(
            "promoteFrom",
            stack,
            f"an upstream stack running {version.tag if version else 'the version'} as stable "
            f"first: {stack} runs {shown}",
        )
    )
