"""Each rollback's blast radius: the requests the canary answered, and the errors (5xx) it
returned, from the start of its release to the rollback, counted by Prometheus.

The stint comes from the stack's history (its succeeded updates replayed): from the update that
first gave the canary answers (the start at 10, the advance from shadow, a retry) to the end of
the update that rolled it back; a canary rolled back from `shadow` answered nobody (its mirrored
copies' answers are discarded), a true zero. The counts are the analysis's own series
(`analysis.queries.requests_selector`: the engine's request counter, track `canary`), as
`increase()` over the stint, evaluated at its end. When Prometheus does not hold the stint
(beyond its retention, never scraped, no series) or does not answer, the figure is `too few
data` with the reason, never a zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from involution.analysis.queries import Querier, requests_selector
from involution.config.monitoring import MonitoringSettings, read_monitoring
from involution.config.reader import ConfigReader
from involution.contract import DEFAULT_NAMESPACE, SECRET_KEYS
from involution.prometheus import PrometheusError, Sample
from involution.release.history import Transition
from involution.release.path import Step
from involution.release.state import rfc3339
from involution.versions import EngineVersion

MEASURED, TOO_FEW = "measured", "too few data"


@dataclass(frozen=True)
class Stint:
    """One canary, from the update that gave it answers to the end of its rollback."""

    stack: str
    version: EngineVersion
    release_started: datetime  # the release's start (as the report names releases)
    answering_since: datetime | None  # None: rolled back before it answered (shadow)
    rolled_back: datetime
    config: Mapping[str, str]  # the rollback update's config: namespace and monitoring

    @property
    def namespace(self) -> str:
        return self.config.get("namespace") or DEFAULT_NAMESPACE

    def monitoring(self) -> MonitoringSettings:
        """The metric names and Prometheus the stack used then (defaults where unreadable)."""
        return read_monitoring(ConfigReader(self.config, SECRET_KEYS))


def rollback_stints(stack: str, steps: Sequence[Transition]) -> list[Stint]:
    """Every rollback of a canary in the replayed history, oldest first."""
    found: list[Stint] = []
    release_started: datetime | None = None
    answering: datetime | None = None
    for t in steps:
        if t.step is Step.START:
            release_started, answering = t.update.finished, None
        if t.state.phase.canary_share > 0 and answering is None:
            answering = t.update.start
        if t.step is Step.ROLLBACK and t.previous is not None and t.previous.canary is not None:
            found.append(
                Stint(
                    stack=stack,
                    version=t.previous.canary,
                    release_started=release_started or t.update.start,
                    answering_since=answering,
                    rolled_back=t.update.finished,
                    config=t.update.config,
                )
            )
            answering = None
        if t.step in (Step.PROMOTE, Step.CLOSE):
            answering = None
    return found


@dataclass(frozen=True)
class BlastRadius:
    """One rollback: requests and errors, or None with the reason in `note`."""

    stint: Stint
    requests: float | None
    errors: float | None
    note: str

    @property
    def status(self) -> str:
        return MEASURED if self.requests is not None else TOO_FEW


@dataclass(frozen=True)
class ReleaseBlast:
    """A release's rollbacks summed: only when every one was measured."""

    stack: str
    version: EngineVersion
    started: datetime
    rollbacks: tuple[BlastRadius, ...]

    @property
    def requests(self) -> float | None:
        return _sum(self.rollbacks, "requests")

    @property
    def errors(self) -> float | None:
        return _sum(self.rollbacks, "errors")

    @property
    def status(self) -> str:
        return MEASURED if self.requests is not None else TOO_FEW

    @property
    def note(self) -> str:
        return "; ".join(b.note for b in self.rollbacks)


def by_release(measured: Sequence[BlastRadius]) -> list[ReleaseBlast]:
    grouped: dict[tuple[str, EngineVersion, datetime], list[BlastRadius]] = {}
    for blast in measured:
        s = blast.stint
        grouped.setdefault((s.stack, s.version, s.release_started), []).append(blast)
    return [
        ReleaseBlast(stack, version, started, tuple(items))
        for (stack, version, started), items in grouped.items()
    ]


def summed(measured: Sequence[BlastRadius]) -> tuple[float | None, float | None, str]:
    """(requests, errors, note) over every rollback; None unless each one was measured."""
    if not measured:
        return None, None, f"{TOO_FEW}: no rollback in the window"
    short = [b for b in measured if b.requests is None]
    if short:
        return None, None, f"{TOO_FEW}: {len(short)} of {len(measured)} rollback(s) not measured"
    return (
        _sum(measured, "requests"),
        _sum(measured, "errors"),
        f"{len(measured)} rollback(s), every one measured",
    )


def _sum(items: Sequence[BlastRadius], field: str) -> float | None:
    values = [getattr(b, field) for b in items]
    if any(v is None for v in values):
        return None
    return float(sum(values))


# ------------------------------------------------------------------ measuring -----


def measure(
    stints: Sequence[Stint], client_for: Callable[[Stint], Querier | str]
) -> list[BlastRadius]:
    """`client_for` gives the Prometheus to ask about a stint, or why there is none."""
    results: list[BlastRadius] = []
    for stint in stints:
        if stint.answering_since is None:
            results.append(
                BlastRadius(
                    stint, 0.0, 0.0, "rolled back from shadow: the canary answered no request"
                )
            )
            continue
        client = client_for(stint)
        if isinstance(client, str):
            results.append(BlastRadius(stint, None, None, f"{TOO_FEW}: {client}"))
            continue
        try:
            results.append(measure_stint(stint, client))
        except PrometheusError as error:
            results.append(BlastRadius(stint, None, None, f"{TOO_FEW}: {error}"))
    return results


def measure_stint(stint: Stint, client: Querier) -> BlastRadius:
    """Counts over [answering_since, rolled_back]; PrometheusError when it does not answer."""
    assert stint.answering_since is not None
    m = stint.monitoring()
    start, end = stint.answering_since, stint.rolled_back
    span = max(1, math.ceil((end - start).total_seconds()))
    head = min(span, max(60, round(m.rate_window_minutes * 60)))
    canary = requests_selector(m, stint.namespace, track="canary")
    where = f"{m.requests_metric} of the canary (namespace {stint.namespace})"
    # Does Prometheus hold the start of the stint? Its first minutes must have samples.
    first = start + timedelta(seconds=head)
    if _value(client.query(f"sum(count_over_time({canary}[{head}s]))", first)) is None:
        anything = requests_selector(m, stint.namespace)
        held = _value(client.query(f"count(count_over_time({anything}[{head}s]))", first))
        why = (
            f"Prometheus at {client.url} holds no sample of {m.requests_metric} in namespace "
            f"{stint.namespace} from {rfc3339(start)}: beyond its retention, or not scraped then"
            if held is None
            else f"Prometheus at {client.url} holds no sample of {where} from {rfc3339(start)}"
        )
        return BlastRadius(stint, None, None, f"{TOO_FEW}: {why}")
    requests = _value(client.query(f"sum(increase({canary}[{span}s]))", end))
    if requests is None:
        # Samples at its start, yet no increase: fewer than two samples in the stint.
        why = (
            f"fewer than two samples of {where} in the {span}s from {rfc3339(start)} to "
            f"{rfc3339(end)}: too short for Prometheus's increase() at its scrape interval"
        )
        return BlastRadius(stint, None, None, f"{TOO_FEW}: {why}")
    failing = requests_selector(m, stint.namespace, track="canary", errors=True)
    errors = _value(client.query(f"sum(increase({failing}[{span}s]))", end))
    return BlastRadius(
        stint,
        requests,
        errors if errors is not None else 0.0,  # requests but no 5xx series: no 5xx answered
        f"increase of {where} from {rfc3339(start)} to {rfc3339(end)}",
    )


def _value(samples: list[Sample]) -> float | None:
    """The value of a `sum(...)` vector; None for an empty result (no series) or NaN."""
    if not samples or math.isnan(samples[0].value):
        return None
    return samples[0].value
