"""Monitoring: an alert for every rollback trigger of the release process, with its routes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from harness.mockrun import MockRun, RecordedResource
from tests.conftest import STACKS, TEST_ALERTING, canary_overrides

pytestmark = pytest.mark.unit

Runner = Callable[..., MockRun]

# (alert, the threshold of docs/release-process.md in the expression, for, severity, rollback mode)
TRIGGERS = [
    ("InvolutionCanaryErrorRateHigh", "> 0.01 ", "2m", "critical", "on-trigger"),
    ("InvolutionCanaryErrorRateAboveStable", "> 0.001 ", "10m", "warning", "none"),
    ("InvolutionCanaryErrorRateSpike", "> 0.05 ", "1m", "critical", "automatic"),
    ("InvolutionCanaryLatencyHigh", "> 0.3 ", "5m", "critical", "on-trigger"),
    ("InvolutionCanaryLatencyAboveStable", "* 1.1 ", "10m", "warning", "none"),
    ("InvolutionCanaryLatencyDegraded", "* 3 ", "2m", "critical", "automatic"),
    ("InvolutionCanaryHealthCheckFailing", "> 0)", "5m", "critical", "automatic"),
    ("InvolutionCanaryAccuracyDeviation", "> 0", "0s", "critical", "automatic"),
]


def custom(run: MockRun, kind: str) -> list[RecordedResource]:
    return [r for r in run.resources if r.custom and r.inputs.get("kind") == kind]


def alerts(run: MockRun) -> dict[str, dict[str, Any]]:
    (rule,) = custom(run, "PrometheusRule")
    return {
        r["alert"]: r for g in rule.inputs["spec"]["groups"] for r in g["rules"] if "alert" in r
    }


@pytest.mark.parametrize(("name", "threshold", "for_", "severity", "mode"), TRIGGERS)
def test_every_release_process_trigger_has_an_alert(
    mocked: Runner, name: str, threshold: str, for_: str, severity: str, mode: str
) -> None:
    rule = alerts(mocked("production", canary_overrides("10")))[name]
    assert threshold in rule["expr"] + " "
    assert rule["for"] == for_
    assert rule["labels"]["severity"] == severity
    assert rule["labels"]["rollback_mode"] == mode
    assert rule["labels"]["rollback"] == ("false" if mode == "none" else "true")
    assert rule["labels"]["track"] == "canary"
    assert rule["annotations"]["no_data"]
    if mode != "none":
        assert rule["annotations"]["rollback_command"] == (
            "pulumi config set --stack production involution:canaryPhase rollback && "
            "pulumi up --stack production"
        )


def test_rate_rules_are_guarded_against_low_traffic(mocked: Runner) -> None:
    rules = alerts(mocked("production"))
    for name, rule in rules.items():
        if "ErrorRate" in name or "Latency" in name:
            assert 'involution:requests:rate{namespace="involution",track=' in rule["expr"]
            assert rule["expr"].rstrip().endswith("> 0.2"), name
    assert "unless on(namespace)" in rules["InvolutionCanaryNoTraffic"]["expr"]


def test_both_tracks_are_covered(mocked: Runner) -> None:
    rules = alerts(mocked("production"))
    assert {r["labels"]["track"] for r in rules.values() if "track" in r["labels"]} == {
        "canary",
        "stable",
    }
    assert rules["InvolutionStableHealthCheckFailing"]["labels"]["rollback"] == "false"


def test_thresholds_and_metric_names_come_from_config(mocked: Runner) -> None:
    run = mocked(
        "staging",
        {
            "monitoring": {
                "errorRatePercent": 2.5,
                "latencyMs": 450,
                "healthFailureMinutes": 3,
                "requestsMetric": "engine_requests_total",
                "latencyMetric": "engine_latency_seconds",
                "minRequestsPerSecond": 1,
            }
        },
    )
    rules = alerts(run)
    assert "> 0.025 " in rules["InvolutionCanaryErrorRateHigh"]["expr"]
    assert "> 0.45 " in rules["InvolutionCanaryLatencyHigh"]["expr"]
    assert rules["InvolutionCanaryHealthCheckFailing"]["for"] == "3m"
    (rule,) = custom(run, "PrometheusRule")
    recorded = {r["record"]: r["expr"] for r in rule.inputs["spec"]["groups"][0]["rules"]}
    assert "rate(engine_requests_total{" in recorded["involution:requests:rate"]
    assert "engine_latency_seconds_bucket{" in recorded["involution:latency_quantile"]


def test_monitors_scrape_both_tracks_and_the_router(mocked: Runner) -> None:
    monitors = {
        m.metadata["name"]: m.inputs["spec"] for m in custom(mocked("dev"), "ServiceMonitor")
    }
    engine = monitors["involution-engine"]
    assert engine["selector"] == {"matchLabels": {"app.kubernetes.io/name": "involution-engine"}}
    assert engine["targetLabels"] == ["track", "version"]
    assert engine["endpoints"][0]["port"] == "http"
    router = monitors["involution-router"]
    assert router["endpoints"][0] == {
        "port": "status",
        "path": "/metrics",
        "interval": "15s",
        "honorLabels": False,
    }


def test_alert_routes_by_severity_with_secrets_by_reference(mocked: Runner) -> None:
    run = mocked("production")
    (config,) = custom(run, "AlertmanagerConfig")
    spec = config.inputs["spec"]
    routes = {r["receiver"]: r for r in spec["route"]["routes"]}
    assert routes["pagerduty"]["matchers"] == [
        {"name": "severity", "value": "critical", "matchType": "="}
    ]
    assert routes["email"]["matchers"][0]["value"] == "release-summary"
    receivers = {r["name"]: r for r in spec["receivers"]}
    assert receivers["slack"]["slackConfigs"][0]["apiURL"] == {
        "name": "involution-alerting",
        "key": "slack-webhook-url",
    }
    assert receivers["pagerduty"]["pagerdutyConfigs"][0]["routingKey"]["key"] == (
        "pagerduty-routing-key"
    )
    assert receivers["email"]["emailConfigs"][0]["to"] == TEST_ALERTING["emailTo"]
    secret = run.named("Secret", "involution-alerting")
    assert "stringData" in secret.secret_paths
    assert secret.inputs["stringData"]["slack-webhook-url"] == TEST_ALERTING["slackWebhookUrl"]
    for secret_value in (TEST_ALERTING["slackWebhookUrl"], TEST_ALERTING["pagerdutyRoutingKey"]):
        for resource in run.resources:
            if resource.kind != "Secret":
                assert secret_value not in repr(resource.inputs), resource.name


@pytest.mark.parametrize("stack", STACKS)
def test_dashboard_shows_tracks_phase_and_weights(mocked: Runner, stack: str) -> None:
    run = mocked(stack)
    dashboard_map = run.named("ConfigMap", "involution-canary-dashboard")
    assert dashboard_map.metadata["labels"]["grafana_dashboard"] == "1"
    board = json.loads(dashboard_map.inputs["data"]["involution-canary.json"])
    titles = {p["title"] for p in board["panels"]}
    assert {"Phase", "Stable weight", "Canary weight", "Requests per second by track"} <= titles
    exprs = " ".join(t["expr"] for p in board["panels"] for t in p.get("targets", []))
    assert "involution_canary_weight" in exprs and "involution_canary_phase" in exprs


def test_monitoring_can_be_switched_off(mocked: Runner) -> None:
    run = mocked("staging", {"monitoring": {"enabled": False}})
    assert not custom(run, "PrometheusRule") and not custom(run, "ServiceMonitor")
