"""The release process's health figures ("Monitoring and Alerting"), from the stacks' history.

Each figure sits beside its target and says met, missed or that the history holds too few
data for it. Counts are over a window (`since` .. `now`); the steps are replayed over the whole
history, so a release that started before the window is still classified right.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from involution.health.blast_radius import BlastRadius, measure, rollback_stints
from involution.health.targets import FIGURE_LABELS, TARGETS, Target, format_seconds
from involution.release.history import (
    Incident,
    Release,
    UpdateRecord,
    first_seen,
    incidents,
    releases,
    transitions,
)
from involution.versions import EngineVersion, ReleaseType

MET, MISSED, TOO_FEW, NO_TARGET = "met", "missed", "too few data", "no target"
NOT_ASKED = "Prometheus not asked"


@dataclass(frozen=True)
class Figure:
    """A measured figure; `value` None when the history holds too few data (`note` says why)."""

    key: str
    label: str
    value: float | None
    unit: str
    note: str
    target: Target | None
    status_override: str | None = None

    @property
    def status(self) -> str:
        if self.status_override is not None:
            return self.status_override
        if self.value is None:
            return TOO_FEW
        if self.target is None:
            return NO_TARGET
        return MET if self.target.met(self.value) else MISSED

    def shown(self) -> str:
        if self.value is None:
            return "-"
        if self.unit == "ratio":
            return f"{self.value:.1%}"
        return format_seconds(self.value)


@dataclass(frozen=True)
class ProductionTime:
    """One release: from first seen on the upstream stack (or this one) to stable here."""

    release: Release
    source: str
    seconds: float | None
    note: str

    @property
    def patch(self) -> bool:
        return self.release.kind is ReleaseType.PATCH

    @property
    def status(self) -> str:
        if self.seconds is None:
            return TOO_FEW
        if not self.patch:
            return NO_TARGET
        return MET if TARGETS["timeToProductionPatch"].met(self.seconds) else MISSED


@dataclass(frozen=True)
class StackHistory:
    """A stack's updates, and the stack it promotes from (from its latest config)."""

    name: str
    updates: tuple[UpdateRecord, ...]

    @property
    def promote_from(self) -> str | None:
        latest = max(self.updates, key=lambda u: (u.start, u.version), default=None)
        return (latest.config.get("promoteFrom") or None) if latest is not None else None


@dataclass(frozen=True)
class HealthReport:
    stacks: tuple[str, ...]
    since: datetime
    now: datetime
    releases: tuple[Release, ...]
    updates: tuple[UpdateRecord, ...]
    incidents: tuple[Incident, ...]
    production_times: tuple[ProductionTime, ...]
    figures: tuple[Figure, ...]
    # Every rollback in the window; measured by `blast_radius.measure` against Prometheus
    # (the report's command does), until then `too few data: Prometheus not asked`.
    blast_radius: tuple[BlastRadius, ...] = ()

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.releases if r.outcome == outcome)

    @property
    def rolled_back(self) -> int:
        return sum(1 for r in self.releases if r.rolled_back)

    @property
    def failed_updates(self) -> int:
        return sum(1 for u in self.updates if not u.succeeded)

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)


def build_report(
    histories: Sequence[StackHistory],
    *,
    upstreams: Mapping[str, StackHistory],
    since: timedelta,
    now: datetime,
) -> HealthReport:
    """The figures over the given stacks together; `upstreams` are the `promoteFrom` stacks'
    histories (any of them may also be in `histories`). Time to production is measured on the
    last stack of each promotion chain reported: production, not the staging that feeds it."""
    start = now - since
    known = {h.name: h for h in (*upstreams.values(), *histories)}
    steps_of = {name: transitions(h.updates) for name, h in known.items()}
    seen_on = {name: first_seen(steps) for name, steps in steps_of.items()}
    found: list[Release] = []
    updates: list[UpdateRecord] = []
    trouble: list[Incident] = []
    times: list[ProductionTime] = []
    blast: list[BlastRadius] = []
    # A stack another reported stack promotes from: time to production ends on that one.
    feeding = {h.promote_from for h in histories if h.promote_from}
    for history in histories:
        stack_releases = [
            r for r in releases(history.name, steps_of[history.name]) if start <= r.started <= now
        ]
        found.extend(stack_releases)
        updates.extend(u for u in history.updates if u.is_update and start <= u.start <= now)
        trouble.extend(
            i
            for i in incidents(history.name, history.updates, steps_of[history.name])
            if start <= i.started <= now
        )
        stints = [
            s
            for s in rollback_stints(history.name, steps_of[history.name])
            if start <= s.rolled_back <= now
        ]
        blast.extend(measure(stints, lambda _: NOT_ASKED))
        if history.name in feeding:
            continue  # its versions' way to production is counted on the stack it feeds
        upstream = history.promote_from
        source = seen_on.get(upstream) if upstream else seen_on[history.name]
        times.extend(
            production_time(r, upstream or history.name, source, upstream is not None)
            for r in stack_releases
        )
    figures = _figures(found, updates, trouble, times)
    return HealthReport(
        stacks=tuple(h.name for h in histories),
        since=start,
        now=now,
        releases=tuple(found),
        updates=tuple(sorted(updates, key=lambda u: u.start)),
        incidents=tuple(sorted(trouble, key=lambda i: i.started)),
        production_times=tuple(times),
        figures=figures,
        blast_radius=tuple(sorted(blast, key=lambda b: b.stint.rolled_back)),
    )


def production_time(
    release: Release, source: str, seen: Mapping[EngineVersion, datetime] | None, upstream: bool
) -> ProductionTime:
    if release.stable_at is None:
        why = "rolled back, never stable" if release.outcome == "rolled-back" else "still running"
        return ProductionTime(release, source, None, f"too few data: {why}")
    if seen is None:
        return ProductionTime(release, source, None, f"too few data: no history of {source}")
    first = seen.get(release.version)
    if first is None or first > release.stable_at:
        return ProductionTime(
            release, source, None, f"too few data: {release.version} not in {source}'s history"
        )
    seconds = (release.stable_at - first).total_seconds()
    where = f"first on {source}" if upstream else "its start"
    return ProductionTime(release, source, seconds, f"{where} -> stable on {release.stack}")


def _ratio(key: str, part: int, whole: int, noun: str, verb: str) -> Figure:
    target = TARGETS[key]
    if whole == 0:
        return Figure(key, target.label, None, "ratio", f"too few data: no {noun}", target)
    note = f"{part} of {whole} {noun} {verb}"
    return Figure(key, target.label, part / whole, "ratio", note, target)


def _figures(
    found: Sequence[Release],
    updates: Sequence[UpdateRecord],
    trouble: Sequence[Incident],
    times: Sequence[ProductionTime],
) -> tuple[Figure, ...]:
    succeeded = sum(1 for u in updates if u.succeeded)
    rolled_back = sum(r.rolled_back for r in found)
    passed = sum(r.gates_passed for r in found)
    return (
        _ratio("deploymentSuccessRate", succeeded, len(updates), "updates", "succeeded"),
        _ratio("rollbackFrequency", rolled_back, len(found), "releases", "rolled back"),
        _ratio("gatePassRate", passed, len(found), "releases", "passed all six gates"),
        _time_to_production(times, patch=True),
        _time_to_production(times, patch=False),
        _mttr(trouble),
        _mtbf(updates, trouble),
    )


def _time_to_production(times: Sequence[ProductionTime], *, patch: bool) -> Figure:
    key = "timeToProductionPatch" if patch else "timeToProductionMinorMajor"
    label = FIGURE_LABELS[key]
    target = TARGETS["timeToProductionPatch"] if patch else None
    measured = [t.seconds for t in times if t.patch == patch and t.seconds is not None]
    kind = "patch" if patch else "minor or major"
    if not measured:
        return Figure(
            key, label, None, "seconds", f"too few data: no {kind} release on stable", target
        )
    median = statistics.median(measured)
    note = f"median of {len(measured)} {kind} release(s), longest {format_seconds(max(measured))}"
    return Figure(key, label, median, "seconds", note, target)


def _mttr(trouble: Sequence[Incident]) -> Figure:
    target = TARGETS["meanTimeToRecovery"]
    durations = [i.seconds for i in trouble if i.seconds is not None]
    still_open = sum(1 for i in trouble if i.seconds is None)
    suffix = f", {still_open} not recovered yet" if still_open else ""
    if not durations:
        return Figure(
            target.key,
            target.label,
            None,
            "seconds",
            f"too few data: no recovered incident{suffix}",
            target,
        )
    mean = statistics.fmean(durations)
    note = f"mean of {len(durations)} incident(s){suffix}"
    return Figure(target.key, target.label, mean, "seconds", note, target)


def _mtbf(updates: Sequence[UpdateRecord], trouble: Sequence[Incident]) -> Figure:
    """Observed time (first to last update in the window) over the incidents in it."""
    target = TARGETS["meanTimeBetweenFailures"]
    if not updates:
        return Figure(target.key, target.label, None, "seconds", "too few data: no updates", target)
    span = (max(u.finished for u in updates) - min(u.start for u in updates)).total_seconds()
    if not trouble:
        if span > target.value:
            return Figure(
                target.key,
                target.label,
                None,
                "seconds",
                f"no failure in {format_seconds(span)}",
                target,
                status_override=MET,
            )
        return Figure(
            target.key,
            target.label,
            None,
            "seconds",
            f"too few data: no failure in {format_seconds(span)} observed",
            target,
        )
    note = f"{format_seconds(span)} observed, {len(trouble)} incident(s)"
    return Figure(target.key, target.label, span / len(trouble), "seconds", note, target)
