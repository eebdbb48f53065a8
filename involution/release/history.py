"""A stack's history as the release report reads it: updates, the steps they made, releases.

Each `pulumi up` is recorded by the engine with its config, result and times
(`pulumi stack history`). A succeeded update deployed exactly its config, so the sequence of
succeeded configs replays the release path; `release.path.classify` names each step as the
program named it when it ran. Times are the engine's (the update's start and end), one clock
for every figure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from involution.config.release import GATE_NAMES
from involution.phases import CANARY_POD_PHASES, Phase
from involution.release.path import FORWARD_STEPS, DesiredRelease, Step, classify
from involution.release.state import DeployedRelease
from involution.versions import EngineVersion, ReleaseType, VersionError, release_type

# `involution watch` writes when it saw the trigger into the rollback's message
# ("... observed at 2026-12-01T10:00:00Z"): the incident starts there, not at the `up`.
OBSERVED_AT = re.compile(r"observed at (\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d))")


@dataclass(frozen=True)
class UpdateRecord:
    """One entry of `pulumi stack history`: secrets are never read (config holds the rest)."""

    version: int
    kind: str  # update, refresh, destroy, ...
    result: str  # succeeded, failed, in-progress
    start: datetime
    end: datetime | None
    message: str
    config: Mapping[str, str]  # the `involution:` keys, without the prefix

    @property
    def is_update(self) -> bool:
        return self.kind == "update" and self.result in ("succeeded", "failed")

    @property
    def succeeded(self) -> bool:
        return self.result == "succeeded"

    @property
    def finished(self) -> datetime:
        return self.end or self.start

    def observed_at(self) -> datetime | None:
        match = OBSERVED_AT.search(self.message)
        if match is None:
            return None
        try:
            return datetime.fromisoformat(match.group(1))
        except ValueError:
            return None


@dataclass(frozen=True)
class DeployedConfig:
    """What a succeeded update deployed: the release-relevant part of its config."""

    phase: Phase
    stable: EngineVersion
    canary: EngineVersion | None
    gates_passed: bool
    promote_from: str | None

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> DeployedConfig | None:
        """None for a config the program could not have deployed (no valid stableVersion)."""
        try:
            stable = EngineVersion.parse(config.get("stableVersion", ""))
            canary_text = config.get("canaryVersion") or ""
            canary = EngineVersion.parse(canary_text) if canary_text else None
            phase = Phase(config.get("canaryPhase") or Phase.NONE.value)
        except (VersionError, ValueError):
            return None
        return cls(
            phase=phase,
            stable=stable,
            canary=canary,
            gates_passed=gates_all_passed(config.get("gates")),
            promote_from=config.get("promoteFrom") or None,
        )

    def as_deployed(self, since: datetime) -> DeployedRelease:
        return DeployedRelease(
            phase=self.phase, stable=self.stable, canary=self.canary, phase_since=since
        )

    def as_desired(self) -> DesiredRelease:
        return DesiredRelease(phase=self.phase, stable=self.stable, canary=self.canary)


def gates_all_passed(text: str | None) -> bool:
    if not text:
        return False
    try:
        record = json.loads(text)
    except ValueError:
        return False
    return isinstance(record, dict) and all(record.get(name) == "passed" for name in GATE_NAMES)


@dataclass(frozen=True)
class Transition:
    """A succeeded update and the step it made (STAY when the release did not move)."""

    update: UpdateRecord
    step: Step
    state: DeployedConfig
    previous: DeployedConfig | None


def transitions(updates: Iterable[UpdateRecord]) -> list[Transition]:
    """The steps of the succeeded updates, oldest first."""
    result: list[Transition] = []
    previous: DeployedConfig | None = None
    for update in sorted(updates, key=lambda u: (u.start, u.version)):
        if not (update.is_update and update.succeeded):
            continue
        state = DeployedConfig.from_config(update.config)
        if state is None:
            continue
        deployed = previous.as_deployed(update.start) if previous is not None else None
        step = classify(deployed, state.as_desired()) or Step.STAY
        result.append(Transition(update=update, step=step, state=state, previous=previous))
        previous = state
    return result


@dataclass(frozen=True)
class Release:
    """One version released on one stack: by canary (start ... promote) or directly (patch)."""

    stack: str
    version: EngineVersion
    kind: ReleaseType
    path: str  # canary | direct
    started: datetime
    outcome: str  # running | promoted | released | rolled-back
    rollbacks: int = 0
    stable_at: datetime | None = None
    gates_passed: bool = True
    steps: tuple[str, ...] = field(default=())

    @property
    def rolled_back(self) -> bool:
        return self.rollbacks > 0

    @property
    def reached_stable(self) -> bool:
        return self.stable_at is not None


def releases(stack: str, steps: Sequence[Transition]) -> list[Release]:
    """Every release the transitions show, in the order they started."""
    found: list[Release] = []
    current: int | None = None  # index of the canary release in progress
    for t in steps:
        at = t.update.finished
        if t.step is Step.START and t.state.canary is not None:
            base = t.previous.stable if t.previous is not None else t.state.stable
            found.append(
                Release(
                    stack=stack,
                    version=t.state.canary,
                    kind=release_type(base, t.state.canary),
                    path="canary",
                    started=at,
                    outcome="running",
                    gates_passed=t.state.gates_passed,
                    steps=(t.step.value,),
                )
            )
            current = len(found) - 1
        elif t.step is Step.PATCH:
            found.append(
                Release(
                    stack=stack,
                    version=t.state.stable,
                    kind=ReleaseType.PATCH,
                    path="direct",
                    started=at,
                    outcome="released",
                    stable_at=at,
                    gates_passed=t.state.gates_passed,
                    steps=(t.step.value,),
                )
            )
        elif t.step is Step.DOWNGRADE and t.previous is not None:
            reverted = _latest(found, t.previous.stable)
            if reverted is not None:
                found[reverted] = _with_step(found[reverted], t, rollbacks=1)
        elif current is not None and t.step is not Step.STAY:
            found[current] = _canary_step(found[current], t)
            if t.step in (Step.PROMOTE, Step.CLOSE):
                current = None
    return found


def _latest(found: Sequence[Release], version: EngineVersion) -> int | None:
    for index in range(len(found) - 1, -1, -1):
        if found[index].version == version:
            return index
    return None


def _with_step(release: Release, t: Transition, *, rollbacks: int = 0) -> Release:
    forward = t.step in FORWARD_STEPS
    return replace(
        release,
        rollbacks=release.rollbacks + rollbacks,
        outcome="rolled-back" if rollbacks and release.outcome == "running" else release.outcome,
        gates_passed=release.gates_passed and (t.state.gates_passed or not forward),
        steps=(*release.steps, t.step.value),
    )


def _canary_step(release: Release, t: Transition) -> Release:
    if t.step is Step.ROLLBACK:
        return replace(_with_step(release, t, rollbacks=1), outcome="rolled-back")
    updated = _with_step(release, t)
    if t.step is Step.RETRY:
        return replace(updated, outcome="running")
    if t.step is Step.PROMOTE:
        return replace(updated, outcome="promoted", stable_at=t.update.finished)
    return updated


@dataclass(frozen=True)
class Incident:
    """A failed update or a rollback, until the next healthy deployed state."""

    stack: str
    cause: str  # failed-update | rollback | downgrade
    started: datetime
    recovered: datetime | None  # None: not recovered within the history

    @property
    def seconds(self) -> float | None:
        if self.recovered is None:
            return None
        return max(0.0, (self.recovered - self.started).total_seconds())


def incidents(
    stack: str, updates: Iterable[UpdateRecord], replayed: Sequence[Transition]
) -> list[Incident]:
    """Failed updates (consecutive ones are one incident) recover at the next succeeded update's
    end; a rollback or downgrade starts at its trigger (the `observed at` of its message, else
    the update's start) and recovers when it is deployed: all traffic on a known-good stable.
    `replayed` is `transitions(updates)`, which the caller has already."""
    ordered = sorted((u for u in updates if u.is_update), key=lambda u: (u.start, u.version))
    steps = {t.update.version: t.step for t in replayed}
    found: list[Incident] = []
    failing: datetime | None = None
    for update in ordered:
        if not update.succeeded:
            failing = failing or update.finished
            continue
        if failing is not None:
            found.append(Incident(stack, "failed-update", failing, update.finished))
            failing = None
        step = steps.get(update.version)
        if step in (Step.ROLLBACK, Step.DOWNGRADE):
            observed = update.observed_at()
            start = observed if observed is not None and observed <= update.start else update.start
            found.append(Incident(stack, step.value, start, update.finished))
    if failing is not None:
        found.append(Incident(stack, "failed-update", failing, None))
    return found


def first_seen(steps: Sequence[Transition]) -> dict[EngineVersion, datetime]:
    """When a succeeded update first deployed each version (as canary or stable) on the stack."""
    seen: dict[EngineVersion, datetime] = {}
    for t in steps:
        running = [t.state.stable]
        if t.state.canary is not None and t.state.phase in CANARY_POD_PHASES:
            running.append(t.state.canary)
        for version in running:
            seen.setdefault(version, t.update.finished)
    return seen
