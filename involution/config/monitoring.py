"""Thresholds and metric names of the rollback triggers; defaults are the release process's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from involution.config.reader import ConfigReader, ObjectReader

_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

FIELDS = {
    "enabled": "create ServiceMonitors, PrometheusRule, AlertmanagerConfig and the dashboard",
    "requestsMetric": "counter of engine HTTP requests, labelled by status code",
    "statusLabel": "label of requestsMetric holding the HTTP status code",
    "latencyMetric": "histogram of engine request durations in seconds (base name)",
    "accuracyMetric": "counter of failed accuracy spot checks",
    "latencyQuantile": "quantile compared with the latency thresholds",
    "errorRatePercent": "canary error rate that triggers a rollback (phase 1: 1%)",
    "errorRateIncreasePoints": "canary error rate above stable, in points (monitoring: 0.1)",
    "errorRateSpikePercent": "error-rate spike that rolls back automatically (5%)",
    "latencyMs": "canary response time that triggers a rollback (300 ms)",
    "latencyIncreasePercent": "canary latency above stable, percent (monitoring: 10%)",
    "latencyDegradationPercent": "latency degradation that rolls back automatically (200%)",
    "healthFailureMinutes": "health-check failures this long roll back automatically (5)",
    "minRequestsPerSecond": "below this canary traffic, rate-based rules stay silent",
    "rateWindowMinutes": "window of the rate() each rule evaluates",
    "prometheusReleaseLabel": "value of the `release` label the Prometheus Operator selects",
    "prometheusUrl": "http(s) base URL of the Prometheus the canary analysis queries",
}


@dataclass(frozen=True)
class MonitoringSettings:
    """Rollback triggers of the release process, as numbers the rules use."""

    enabled: bool = True
    requests_metric: str = "involution_http_requests_total"
    status_label: str = "code"
    latency_metric: str = "involution_http_request_duration_seconds"
    accuracy_metric: str = "involution_accuracy_check_failures_total"
    latency_quantile: float = 0.95
    error_rate_percent: float = 1.0
    error_rate_increase_points: float = 0.1
    error_rate_spike_percent: float = 5.0
    latency_ms: float = 300.0
    latency_increase_percent: float = 10.0
    latency_degradation_percent: float = 200.0
    health_failure_minutes: float = 5.0
    min_requests_per_second: float = 0.2
    rate_window_minutes: float = 5.0
    prometheus_release_label: str = "kube-prometheus-stack"
    prometheus_url: str | None = None


def valid_http_url(value: str) -> bool:
    """An http(s) URL with a host, no credentials, query or fragment (a base URL)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.username is None
        and not parts.query
        and not parts.fragment
        and not any(c.isspace() for c in value)
    )


def _prometheus_url(o: ObjectReader) -> str | None:
    value = o.text("prometheusUrl")
    if value is None:
        return None
    if not valid_http_url(value):
        o.problem(
            "prometheusUrl",
            value,
            "an http:// or https:// base URL with a host (no credentials, query or fragment)",
        )
        return None
    return value.rstrip("/")


def read_monitoring(reader: ConfigReader) -> MonitoringSettings:
    d = MonitoringSettings()
    o = reader.fields("monitoring", FIELDS)
    metric = "a Prometheus metric name [a-zA-Z_:][a-zA-Z0-9_:]*"
    requests = o.pattern("requestsMetric", d.requests_metric, _METRIC, metric)
    if not requests.endswith("_total"):
        o.problem("requestsMetric", requests, f"{metric} ending in _total (a counter)")
    accuracy = o.pattern("accuracyMetric", d.accuracy_metric, _METRIC, metric)
    if not accuracy.endswith("_total"):
        o.problem("accuracyMetric", accuracy, f"{metric} ending in _total (a counter)")
    latency = o.pattern("latencyMetric", d.latency_metric, _METRIC, metric)
    if latency.endswith(("_bucket", "_sum", "_count")) or not latency.endswith("_seconds"):
        o.problem(
            "latencyMetric",
            latency,
            f"{metric}: the histogram's base name in seconds, without _bucket/_sum/_count",
        )

    def percent(name: str, default: float) -> float:
        return o.number(name, default, minimum=0.0, maximum=100.0, unit=" (percent)")

    return MonitoringSettings(
        enabled=o.boolean("enabled", d.enabled),
        requests_metric=requests,
        status_label=o.pattern("statusLabel", d.status_label, _LABEL, "a Prometheus label name"),
        latency_metric=latency,
        accuracy_metric=accuracy,
        latency_quantile=o.number(
            "latencyQuantile", d.latency_quantile, minimum=0.0, maximum=0.999
        ),
        error_rate_percent=percent("errorRatePercent", d.error_rate_percent),
        error_rate_increase_points=percent("errorRateIncreasePoints", d.error_rate_increase_points),
        error_rate_spike_percent=percent("errorRateSpikePercent", d.error_rate_spike_percent),
        latency_ms=o.number("latencyMs", d.latency_ms, minimum=0.0, unit=" (milliseconds)"),
        latency_increase_percent=o.number(
            "latencyIncreasePercent", d.latency_increase_percent, minimum=0.0, unit=" (percent)"
        ),
        latency_degradation_percent=o.number(
            "latencyDegradationPercent",
            d.latency_degradation_percent,
            minimum=0.0,
            unit=" (percent)",
        ),
        health_failure_minutes=o.number(
            "healthFailureMinutes", d.health_failure_minutes, minimum=0.0, unit=" (minutes)"
        ),
        min_requests_per_second=o.number(
            "minRequestsPerSecond", d.min_requests_per_second, minimum=0.0, exclusive_minimum=False
        ),
        rate_window_minutes=o.number(
            "rateWindowMinutes", d.rate_window_minutes, minimum=0.0, unit=" (minutes)"
        ),
        prometheus_release_label=o.text("prometheusReleaseLabel", d.prometheus_release_label)
        or d.prometheus_release_label,
        prometheus_url=_prometheus_url(o),
    )
