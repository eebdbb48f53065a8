"""Grafana dashboard of a canary release: traffic, errors and latency per track, and the
live phase and weights, as JSON the Grafana sidecar loads from a ConfigMap."""

from __future__ import annotations

import json
from typing import Any

from involution.alert_rules import (
    ERROR_RATIO,
    LATENCY,
    MIRROR_METRIC,
    PHASE_METRIC,
    REQUESTS,
    WEIGHT_METRIC,
)
from involution.config.monitoring import MonitoringSettings
from involution.health.metrics import KPI_METRICS, kpi_metric
from involution.health.targets import FIGURE_LABELS, TARGETS

DASHBOARD_UID_PREFIX = "involution-canary"
# involution_canary_phase's values (involution/nginx/conf.py PHASE_CODES) as the phase names.
PHASE_MAPPINGS = [
    {
        "type": "value",
        "options": {
            "-1": {"text": "rollback", "index": 0},
            "0": {"text": "none", "index": 1},
            "1": {"text": "shadow (mirrored copies)", "index": 2},
            "10": {"text": "10%", "index": 3},
            "50": {"text": "50%", "index": 4},
            "100": {"text": "100%", "index": 5},
        },
    }
]


def _timeseries(
    panel_id: int, title: str, expr: str, *, unit: str, x: int, y: int, legend: str = "{{track}}"
) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": "A", "expr": expr, "legendFormat": legend}],
    }


def _stat(panel_id: int, title: str, expr: str, x: int, legend: str = "") -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "stat",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 4, "w": 6, "x": x, "y": 0},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"]}, "textMode": "value_and_name"},
        "targets": [{"refId": "A", "expr": expr, "legendFormat": legend}],
    }


HEALTH_ROW_TITLE = "Release health (involution report --openmetrics)"


def release_health_row(stack: str, *, first_id: int, y: int) -> list[dict[str, Any]]:
    """The release process's figures beside their targets, green when met: from the series
    `involution report --openmetrics` writes for a textfile collector or a Pushgateway."""
    panels: list[dict[str, Any]] = [
        {
            "id": first_id,
            "type": "row",
            "title": HEALTH_ROW_TITLE,
            "collapsed": False,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
            "panels": [],
        }
    ]
    width = 24 // 4
    for index, key in enumerate(KPI_METRICS):
        _, unit = KPI_METRICS[key]
        panel = _stat(first_id + 1 + index, FIGURE_LABELS[key], "", 0)
        panel["targets"] = [{"refId": "A", "expr": f'max({kpi_metric(key)}{{stack="{stack}"}})'}]
        panel["gridPos"] = {
            "h": 4,
            "w": width,
            "x": (index % 4) * width,
            "y": y + 1 + 4 * (index // 4),
        }
        panel["fieldConfig"] = {
            "defaults": {
                "unit": "percentunit" if unit == "ratio" else "s",
                "thresholds": _target_thresholds(key),
            },
            "overrides": [],
        }
        panels.append(panel)
    return panels


def _target_thresholds(key: str) -> dict[str, Any]:
    """Green on the side of the target that meets it; blue where there is no target."""
    target = TARGETS.get(key)
    if target is None:
        return {"mode": "absolute", "steps": [{"color": "blue", "value": None}]}
    low, high = ("red", "green") if target.comparison == ">" else ("green", "red")
    return {
        "mode": "absolute",
        "steps": [{"color": low, "value": None}, {"color": high, "value": target.value}],
    }


def dashboard(m: MonitoringSettings, namespace: str, stack: str) -> dict[str, Any]:
    ns = f'namespace="{namespace}"'
    return {
        "uid": f"{DASHBOARD_UID_PREFIX}-{stack}"[:40],
        "title": f"Involution canary ({stack})",
        "tags": ["involution", "canary"],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]
        },
        "panels": [
            {
                **_stat(1, "Phase", f"max by (phase) ({PHASE_METRIC}{{{ns}}})", 0, "{{phase}}"),
                "fieldConfig": {"defaults": {"mappings": PHASE_MAPPINGS}, "overrides": []},
            },
            _stat(2, "Stable weight", f'max({WEIGHT_METRIC}{{{ns},track="stable"}})', 6),
            _stat(3, "Canary weight", f'max({WEIGHT_METRIC}{{{ns},track="canary"}})', 12),
            _stat(
                4,
                "Canary error rate",
                f'{ERROR_RATIO}{{{ns},track="canary"}}',
                18,
            ),
            _timeseries(
                5, "Requests per second by track", f"{REQUESTS}{{{ns}}}", unit="reqps", x=0, y=4
            ),
            _timeseries(
                6,
                "Error rate (5xx) by track",
                f"{ERROR_RATIO}{{{ns}}}",
                unit="percentunit",
                x=12,
                y=4,
            ),
            _timeseries(
                7,
                f"p{m.latency_quantile * 100:g} latency by track",
                f"{LATENCY}{{{ns}}}",
                unit="s",
                x=0,
                y=12,
            ),
            _timeseries(
                8,
                "Weights by track",
                f"max by (track) ({WEIGHT_METRIC}{{{ns}}})",
                unit="percent",
                x=12,
                y=12,
            ),
            _timeseries(
                9,
                "Mirrored requests to the canary (shadow)",
                f'{REQUESTS}{{{ns},track="canary"}} and on(namespace) '
                f"(max by (namespace) ({MIRROR_METRIC}{{{ns}}}) > 0)",
                unit="reqps",
                x=0,
                y=20,
                legend="mirrored requests/s",
            ),
            *release_health_row(stack, first_id=10, y=28),
        ],
        # Marks every phase change (shadow included) on the time series.
        "annotations": {
            "list": [
                {
                    "name": "Phase changes",
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "enable": True,
                    "expr": f"changes(max({PHASE_METRIC}{{{ns}}})[2m:30s]) > 0",
                    "titleFormat": "canary phase changed",
                    "iconColor": "purple",
                }
            ]
        },
    }


def dashboard_json(m: MonitoringSettings, namespace: str, stack: str) -> str:
    return json.dumps(dashboard(m, namespace, stack), indent=2, sort_keys=True)
