"""What the canary analysis asks Prometheus, and the per-track numbers it gets back.

The queries read the RAW series the alert rules are built on (`requestsMetric`, the
`latencyMetric` histogram's buckets, `accuracyMetric`), never the recording rules: the analysis
must work on a Prometheus that has not loaded the PrometheusRule, and must not inherit a
recording rule's choices (its `or ... * 0` turns "no 5xx series" into 0, which is right, but
also its evaluation lag). Every query covers `monitoring.rateWindowMinutes`, as the rules do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from involution.alert_rules import duration
from involution.config.monitoring import MonitoringSettings
from involution.names import TRACK_LABEL, Track
from involution.prometheus import Sample

RATE = "rate"
REQUESTS = "requests"
ERRORS = "errors"
LATENCY = "latency"
LATENCY_COUNT = "latencyCount"
ACCURACY = "accuracy"


class Querier(Protocol):
    """What the analysis needs of a Prometheus client (`PrometheusClient`, or a fake)."""

    @property
    def url(self) -> str: ...

    def query(self, promql: str, at: datetime | None = None) -> list[Sample]: ...


@dataclass(frozen=True)
class TrackData:
    """One track over the window; None where Prometheus had no series (or NaN)."""

    rate: float | None = None  # requests per second
    requests: float | None = None  # requests in the window (increase)
    errors: float | None = None  # 5xx responses in the window
    latency_seconds: float | None = None  # the configured quantile
    latency_count: float | None = None  # observations in the histogram in the window
    accuracy_failures: float | None = None  # failed accuracy checks in the window

    @property
    def has_requests(self) -> bool:
        return self.requests is not None and self.requests > 0


@dataclass(frozen=True)
class Observations:
    """Both tracks of one namespace at one evaluation time."""

    namespace: str
    evaluated_at: datetime
    window: str
    canary: TrackData
    stable: TrackData


def requests_selector(
    m: MonitoringSettings, namespace: str, *, track: Track | None = None, errors: bool = False
) -> str:
    """The engine's request counter in `namespace` (one track, or both), its 5xx answers only
    with `errors`: the series the analysis and the release report's blast radius count."""
    labels = [f'namespace="{namespace}"']
    if track is not None:
        labels.append(f'{TRACK_LABEL}="{track}"')
    if errors:
        labels.append(f'{m.status_label}=~"5.."')
    return f"{m.requests_metric}{{{','.join(labels)}}}"


def queries(m: MonitoringSettings, namespace: str) -> dict[str, str]:
    """PromQL of each number, all grouped by track."""
    w = duration(m.rate_window_minutes)
    ns = f'namespace="{namespace}"'
    requests = requests_selector(m, namespace)
    errors = requests_selector(m, namespace, errors=True)
    return {
        RATE: f"sum by ({TRACK_LABEL}) (rate({requests}[{w}]))",
        REQUESTS: f"sum by ({TRACK_LABEL}) (increase({requests}[{w}]))",
        ERRORS: f"sum by ({TRACK_LABEL}) (increase({errors}[{w}]))",
        LATENCY: f"histogram_quantile({m.latency_quantile:g}, sum by (le, {TRACK_LABEL}) "
        f"(rate({m.latency_metric}_bucket{{{ns}}}[{w}])))",
        LATENCY_COUNT: f"sum by ({TRACK_LABEL}) "
        f'(increase({m.latency_metric}_bucket{{{ns},le="+Inf"}}[{w}]))',
        ACCURACY: f"sum by ({TRACK_LABEL}) (increase({m.accuracy_metric}{{{ns}}}[{w}]))",
    }


def _value(samples: list[Sample], track: Track) -> float | None:
    for sample in samples:
        if sample.labels.get(TRACK_LABEL) == track and not math.isnan(sample.value):
            return sample.value
    return None


def track_data(results: Mapping[str, list[Sample]], track: Track) -> TrackData:
    """One track's numbers from the query results (keyed as in `queries`)."""

    def value(kind: str) -> float | None:
        return _value(results.get(kind, []), track)

    requests = value(REQUESTS)
    errors = value(ERRORS)
    if errors is None and requests is not None:
        errors = 0.0  # requests but no 5xx series: no 5xx yet, not "no data"
    return TrackData(
        rate=value(RATE),
        requests=requests,
        errors=errors,
        latency_seconds=value(LATENCY),
        latency_count=value(LATENCY_COUNT),
        accuracy_failures=value(ACCURACY),
    )


def observations(
    results: Mapping[str, list[Sample]], m: MonitoringSettings, namespace: str, at: datetime
) -> Observations:
    return Observations(
        namespace=namespace,
        evaluated_at=at,
        window=duration(m.rate_window_minutes),
        canary=track_data(results, "canary"),
        stable=track_data(results, "stable"),
    )


def observe(client: Querier, m: MonitoringSettings, namespace: str, at: datetime) -> Observations:
    """Run every query at the same time `at` (PrometheusError when one fails)."""
    results = {kind: client.query(promql, at) for kind, promql in queries(m, namespace).items()}
    return observations(results, m, namespace, at)
