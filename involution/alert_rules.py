"""Prometheus rules for every rollback trigger of the release process, built from typed data.

Recording rules compute requests, error ratio and latency per track once; alerts compare the
canary with fixed thresholds and with the stable track. Every canary rule is guarded against
low traffic and says in its annotations what it does when there is no data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from involution.config.monitoring import MonitoringSettings
from involution.names import CANARY_SERVICE, STABLE_SERVICE, TRACK_LABEL

REQUESTS = "involution:requests:rate"
ERRORS = "involution:errors:rate"
ERROR_RATIO = "involution:error_ratio"
LATENCY = "involution:latency_quantile"
WEIGHT_METRIC = "involution_canary_weight"
PHASE_METRIC = "involution_canary_phase"
MIRROR_METRIC = "involution_canary_mirror_percent"

NO_DATA_RATE = (
    "No data, no verdict: without canary requests (or below {min_rps}/s) this rule stays "
    "silent and never asks for a rollback on noise; InvolutionCanaryNoTraffic warns when the "
    "canary has weight but no measured traffic, so a blind canary is not advanced."
)
NO_DATA_HEALTH = (
    "Fires on data, not on its absence: with neither kube-state-metrics nor scrape targets "
    "it stays silent; the canary Deployment's own readiness still gates `pulumi up`."
)
NO_DATA_ACCURACY = (
    "Any failed accuracy check fires at once. No accuracy metric means no verdict: the "
    "`gates.accuracy` release gate covers the version before it takes traffic."
)


def duration(minutes: float) -> str:
    """Prometheus duration: whole minutes as `5m`, anything else in seconds."""
    if float(minutes).is_integer():
        return f"{int(minutes)}m"
    return f"{round(minutes * 60)}s"


def _number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class RuleContext:
    """What rules need beyond the thresholds: where they apply and what to run."""

    namespace: str
    stack: str
    rollback_command: str


def _sel(ns: str, **labels: str) -> str:
    pairs = [f'namespace="{ns}"', *(f'{k}="{v}"' for k, v in labels.items())]
    return "{" + ",".join(pairs) + "}"


def recording_rules(m: MonitoringSettings, ns: str) -> list[dict[str, Any]]:
    window = duration(m.rate_window_minutes)
    requests = m.requests_metric
    errors_selector = _sel(ns)[:-1] + f',{m.status_label}=~"5.."}}'
    return [
        {
            "record": REQUESTS,
            "expr": f"sum by (namespace, track) (rate({requests}{_sel(ns)}[{window}]))",
        },
        {
            "record": ERRORS,
            "expr": f"sum by (namespace, track) (rate({requests}{errors_selector}[{window}]))",
        },
        {
            # No 5xx series yet means an error ratio of 0, not of "no data".
            "record": ERROR_RATIO,
            "expr": f"({ERRORS} or {REQUESTS} * 0) / {REQUESTS}",
        },
        {
            "record": LATENCY,
            "expr": (
                f"histogram_quantile({_number(m.latency_quantile)}, sum by (namespace, track, le) "
                f"(rate({m.latency_metric}_bucket{_sel(ns)}[{window}])))"
            ),
        },
    ]


def _alert(
    name: str,
    expr: str,
    *,
    for_: str,
    severity: str,
    track: str,
    trigger: str,
    rollback: str,
    summary: str,
    description: str,
    no_data: str,
    ctx: RuleContext,
) -> dict[str, Any]:
    """`rollback` is `automatic` (an automatic trigger of docs/release-process.md),
    `on-trigger` (a phase 1 rollback trigger) or `none` (monitoring only)."""
    annotations = {
        "summary": summary,
        "description": description,
        "no_data": no_data,
    }
    if rollback != "none":
        annotations["rollback_command"] = ctx.rollback_command
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {
            "severity": severity,
            TRACK_LABEL: track,
            "trigger": trigger,
            "rollback": "true" if rollback != "none" else "false",
            "rollback_mode": rollback,
            "stack": ctx.stack,
        },
        "annotations": annotations,
    }


def canary_alerts(m: MonitoringSettings, ctx: RuleContext) -> list[dict[str, Any]]:
    ns = ctx.namespace
    canary, stable = _sel(ns, track="canary"), _sel(ns, track="stable")
    min_rps = _number(m.min_requests_per_second)
    guard = f"and ignoring(track) {REQUESTS}{canary} > {min_rps}"
    rate_no_data = NO_DATA_RATE.format(min_rps=min_rps)
    error_rate = _number(m.error_rate_percent / 100)
    spike = _number(m.error_rate_spike_percent / 100)
    increase = _number(m.error_rate_increase_points / 100)
    latency = _number(m.latency_ms / 1000)
    latency_up = _number(1 + m.latency_increase_percent / 100)
    degraded = _number(1 + m.latency_degradation_percent / 100)
    quantile = f"p{_number(m.latency_quantile * 100)}"
    health = duration(m.health_failure_minutes)
    return [
        _alert(
            "InvolutionCanaryErrorRateHigh",
            f"{ERROR_RATIO}{canary} > {error_rate} {guard}",
            for_="2m",
            severity="critical",
            trigger="error-rate",
            rollback="on-trigger",
            summary=f"Canary error rate above {_number(m.error_rate_percent)}%",
            description="Canary 5xx ratio is {{ $value | humanizePercentage }} "
            f"(phase 1 rollback trigger: > {_number(m.error_rate_percent)}%).",
            no_data=rate_no_data,
            track="canary",
            ctx=ctx,
        ),
        _alert(
            "InvolutionCanaryErrorRateAboveStable",
            f"({ERROR_RATIO}{canary} - ignoring(track) {ERROR_RATIO}{stable}) > {increase} {guard}",
            for_="10m",
            severity="warning",
            trigger="error-rate-increase",
            rollback="none",
            summary="Canary error rate above stable's",
            description="Canary 5xx ratio exceeds stable's by {{ $value | humanizePercentage }} "
            f"(monitoring: < {_number(m.error_rate_increase_points)} points).",
            no_data=rate_no_data + " Without stable traffic there is no comparison either.",
            track="canary",
            ctx=ctx,
        ),
        _alert(
            "InvolutionCanaryErrorRateSpike",
            f"{ERROR_RATIO}{canary} > {spike} {guard}",
            for_="1m",
            severity="critical",
            trigger="error-rate-spike",
            rollback="automatic",
            summary=f"Canary error-rate spike above {_number(m.error_rate_spike_percent)}%",
            description="Canary 5xx ratio is {{ $value | humanizePercentage }} "
            f"(automatic rollback trigger: > {_number(m.error_rate_spike_percent)}%).",
            no_data=rate_no_data,
            track="canary",
            ctx=ctx,
        ),
        _alert(
            "InvolutionCanaryLatencyHigh",
            f"{LATENCY}{canary} > {latency} {guard}",
            for_="5m",
            severity="critical",
            trigger="response-time",
            rollback="on-trigger",
            summary=f"Canary {quantile} response time above {_number(m.latency_ms)} ms",
            description=f"Canary {quantile} is " + "{{ $value | humanizeDuration }} "
            f"(phase 1 rollback trigger: > {_number(m.latency_ms)} ms).",
            no_data=rate_no_data,
            track="canary",
            ctx=ctx,
        ),
        _alert(
            "InvolutionCanaryLatencyAboveStable",
            f"{LATENCY}{canary} > ignoring(track) {LATENCY}{stable} * {latency_up} {guard}",
            for_="10m",
            severity="warning",
            trigger="response-time-increase",
            rollback="none",
            summary=f"Canary {quantile} more than {_number(m.latency_increase_percent)}% "
            "above stable's",
            description=f"Canary {quantile} is " + "{{ $value | humanizeDuration }} "
            f"(monitoring: < {_number(m.latency_increase_percent)}% above stable).",
            no_data=rate_no_data + " Without stable traffic there is no comparison either.",
            track="canary",
            ctx=ctx,
        ),
        _alert(
            "InvolutionCanaryLatencyDegraded",
            f"{LATENCY}{canary} > ignoring(track) {LATENCY}{stable} * {degraded} {guard}",
            for_="2m",
            severity="critical",
            trigger="response-time-degradation",
            rollback="automatic",
            summary=f"Canary {quantile} degraded more than "
            f"{_number(m.latency_degradation_percent)}% against stable",
            description=f"Canary {quantile} is " + "{{ $value | humanizeDuration }} "
            f"(automatic rollback trigger: > {_number(m.latency_degradation_percent)}% "
            "above stable).",
            no_data=rate_no_data,
            track="canary",
            ctx=ctx,
        ),
        _alert(
            "InvolutionCanaryHealthCheckFailing",
            "(max by (namespace) (kube_deployment_status_replicas_unavailable"
            f"{_sel(ns, deployment=CANARY_SERVICE)}) > 0) or "
            f"(min by (namespace) (up{canary}) == 0)",
            for_=health,
            severity="critical",
            trigger="health-check",
            rollback="automatic",
            summary=f"Canary health checks failing for {health}",
            description="Canary pods unavailable or not answering scrapes for "
            f"{health} (automatic rollback trigger).",
            no_data=NO_DATA_HEALTH,
            track="canary",
            ctx=ctx,
        ),
        _alert(
            "InvolutionCanaryAccuracyDeviation",
            f"sum by (namespace) (increase({m.accuracy_metric}{canary}"
            f"[{duration(m.rate_window_minutes)}])) > 0",
            for_="0s",
            severity="critical",
            trigger="accuracy",
            rollback="automatic",
            summary="Canary failed accuracy checks",
            description="{{ $value }} accuracy checks failed on the canary "
            "(any accuracy degradation: critical, automatic rollback).",
            no_data=NO_DATA_ACCURACY,
            track="canary",
            ctx=ctx,
        ),
        _alert(
            "InvolutionCanaryNoTraffic",
            # At shadow the canary has weight 0 but gets mirrored copies: as blind without them.
            f"(max by (namespace) ({WEIGHT_METRIC}{canary}) > 0 "
            f"or max by (namespace) ({MIRROR_METRIC}{canary}) > 0) "
            f"unless on(namespace) ({REQUESTS}{canary} > {min_rps})",
            for_="10m",
            severity="warning",
            trigger="no-data",
            rollback="none",
            summary="Canary has weight (or mirrored copies) but no measured traffic",
            description="nginx sends (or, at shadow, copies to) the canary {{ $value }}% of "
            f"traffic, yet Prometheus sees under {min_rps} requests/s: the analysis is blind, "
            "do not advance.",
            no_data="This is the no-data rule: it fires when the canary is routed traffic "
            "or mirrored copies but no request metrics arrive.",
            track="canary",
            ctx=ctx,
        ),
    ]


def stable_alerts(m: MonitoringSettings, ctx: RuleContext) -> list[dict[str, Any]]:
    """The stable track is the rollback target: when it fails, page; never roll back to it."""
    ns = ctx.namespace
    stable = _sel(ns, track="stable")
    min_rps = _number(m.min_requests_per_second)
    health = duration(m.health_failure_minutes)
    return [
        _alert(
            "InvolutionStableErrorRateHigh",
            f"{ERROR_RATIO}{stable} > {_number(m.error_rate_percent / 100)} "
            f"and ignoring(track) {REQUESTS}{stable} > {min_rps}",
            for_="5m",
            severity="critical",
            trigger="error-rate",
            summary=f"Stable error rate above {_number(m.error_rate_percent)}%",
            description="Stable 5xx ratio is {{ $value | humanizePercentage }}: the rollback "
            "target itself is unhealthy.",
            no_data=NO_DATA_RATE.format(min_rps=min_rps),
            track="stable",
            rollback="none",
            ctx=ctx,
        ),
        _alert(
            "InvolutionStableLatencyHigh",
            f"{LATENCY}{stable} > {_number(m.latency_ms / 1000)} "
            f"and ignoring(track) {REQUESTS}{stable} > {min_rps}",
            for_="10m",
            severity="warning",
            trigger="response-time",
            summary=f"Stable response time above {_number(m.latency_ms)} ms",
            description="Stable latency is {{ $value | humanizeDuration }}.",
            no_data=NO_DATA_RATE.format(min_rps=min_rps),
            track="stable",
            rollback="none",
            ctx=ctx,
        ),
        _alert(
            "InvolutionStableHealthCheckFailing",
            "(max by (namespace) (kube_deployment_status_replicas_unavailable"
            f"{_sel(ns, deployment=STABLE_SERVICE)}) > 0) or "
            f"(min by (namespace) (up{stable}) == 0)",
            for_=health,
            severity="critical",
            trigger="health-check",
            summary=f"Stable health checks failing for {health}",
            description="Stable pods unavailable or not answering scrapes: rollback capacity "
            "is at risk.",
            no_data=NO_DATA_HEALTH,
            track="stable",
            rollback="none",
            ctx=ctx,
        ),
    ]


def release_alerts(ctx: RuleContext) -> list[dict[str, Any]]:
    """Routed to email as the release summary: a new phase is a new alert, re-sent daily."""
    return [
        {
            "alert": "InvolutionReleaseStatus",
            "expr": f"max by (namespace, phase) ({PHASE_METRIC}{_sel(ctx.namespace)})",
            "labels": {"severity": "info", "notify": "release-summary", "stack": ctx.stack},
            "annotations": {
                "summary": "Involution release at phase {{ $labels.phase }}",
                "description": "The traffic router serves canary phase {{ $labels.phase }} "
                f"in {ctx.namespace}.",
                "no_data": "Silent when the router's metrics are not scraped.",
            },
        }
    ]


def rule_groups(m: MonitoringSettings, ctx: RuleContext) -> dict[str, Any]:
    """The PrometheusRule spec, also a valid `promtool check rules` file."""
    return {
        "groups": [
            {
                "name": "involution-recording",
                "interval": "30s",
                "rules": recording_rules(m, ctx.namespace),
            },
            {"name": "involution-canary", "rules": canary_alerts(m, ctx)},
            {"name": "involution-stable", "rules": stable_alerts(m, ctx)},
            {"name": "involution-release", "rules": release_alerts(ctx)},
        ]
    }
