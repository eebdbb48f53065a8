"""The release report's forms: one JSON object, Markdown for release notes, OpenMetrics that
Prometheus's own promtool and the client library's parser accept, with the same figures."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from harness.release_walks import Walk, promoted_pair
from involution.config.monitoring import MonitoringSettings
from involution.dashboard import HEALTH_ROW_TITLE, dashboard
from involution.health.formats import as_json, as_markdown, as_openmetrics, as_table
from involution.health.report import HealthReport, build_report
from involution.health.targets import TARGETS
from tests.tooling import require_tool

pytestmark = pytest.mark.tools

REQUIRED_KEYS = {
    "releases",
    "promoted",
    "rolledBack",
    "rollbackFrequency",
    "deploymentSuccessRate",
    "gatePassRate",
    "meanTimeToRecoverySeconds",
    "timeToProductionSeconds",
    "targets",
}


def reports(*walks: Walk) -> tuple[HealthReport, dict[str, HealthReport]]:
    histories = [w.history() for w in walks]
    upstreams = {h.name: h for h in histories}
    now = max(w.now for w in walks)

    def of(chosen: list[Any]) -> HealthReport:
        return build_report(chosen, upstreams=upstreams, since=timedelta(days=30), now=now)

    return of(histories), {h.name: of([h]) for h in histories}


@pytest.fixture(scope="module")
def pair() -> tuple[HealthReport, dict[str, HealthReport]]:
    staging, production = promoted_pair()
    return reports(production, staging)


def test_json_has_the_contract_keys_overall_and_per_stack(
    pair: tuple[HealthReport, dict[str, HealthReport]],
) -> None:
    record = as_json(*pair)
    assert set(record) >= REQUIRED_KEYS
    assert set(record["stacks"]) == {"production", "staging"}
    for stack in record["stacks"].values():
        assert set(stack) >= REQUIRED_KEYS
    assert record["releases"] == 6
    assert record["stacks"]["production"]["promoted"] == 1
    assert record["rollbackFrequency"] == 0.0
    assert record["targets"]["deploymentSuccessRate"] == {
        "comparison": ">",
        "value": 0.98,
        "unit": "ratio",
    }
    by_version = {t["version"]: t for t in record["timeToProductionSeconds"]}
    assert by_version["v1.3.1"] == {
        "stack": "production",
        "version": "v1.3.1",
        "kind": "patch",
        "from": "staging",
        "seconds": 10860.0,
        "status": "missed",
        "note": "first on staging -> stable on production",
    }
    assert record["status"]["meanTimeToRecovery"] == "too few data"
    assert record["meanTimeToRecoverySeconds"] is None


def test_markdown_is_a_table_per_figure_and_per_release(
    pair: tuple[HealthReport, dict[str, HealthReport]],
) -> None:
    text = as_markdown(pair[0])
    lines = text.splitlines()
    assert lines[0].startswith("## Release health of production, staging from ")
    assert "| Time to production (patch) | 1h45m30s | < 2h | met |" in text
    assert (
        "| production | v1.3.1 | patch | direct | released | 0 | passed | 3h1m (missed) |" in text
    )
    table = [line for line in lines if line.startswith("|")]
    assert all(line.count("|") == table[0].count("|") for line in table[:9])
    assert "Release health of production, staging" in as_table(pair[0])


def test_openmetrics_parses_and_promtool_accepts_it(
    pair: tuple[HealthReport, dict[str, HealthReport]],
) -> None:
    text = as_openmetrics(*pair)
    assert text.endswith("# EOF\n")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)  # type: ignore[no-untyped-call]
        for s in family.samples
    }
    assert samples["involution_release_releases", (("stack", "all"),)] == 6
    assert samples["involution_release_deployment_success_ratio", (("stack", "production"),)] == 1
    key = (
        "involution_release_time_to_production_seconds",
        (("kind", "patch"), ("stack", "production"), ("version", "v1.3.1")),
    )
    assert samples[key] == 10860
    met = "involution_release_target_met"
    assert samples[met, (("kpi", "timeToProductionPatch"), ("stack", "production"))] == 1
    assert (met, (("kpi", "meanTimeToRecovery"), ("stack", "production"))) not in samples
    promtool = require_tool("promtool", "prometheus")
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_dashboard_row_reads_the_series_the_report_writes(
    pair: tuple[HealthReport, dict[str, HealthReport]],
) -> None:
    board = dashboard(MonitoringSettings(), "involution", "production")
    row = [p for p in board["panels"] if p["id"] >= 10]
    assert row[0]["type"] == "row" and row[0]["title"] == HEALTH_ROW_TITLE
    written = {
        (s.name, s.labels.get("stack"))
        for family in text_string_to_metric_families(as_openmetrics(*pair))  # type: ignore[no-untyped-call]
        for s in family.samples
    }
    for panel in row[1:]:
        (query,) = panel["targets"]
        match = re.fullmatch(r'max\((\w+)\{stack="production"\}\)', query["expr"])
        assert match is not None, query["expr"]
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        target = next((t for t in TARGETS.values() if t.label == panel["title"]), None)
        if target is None:
            assert [s["color"] for s in steps] == ["blue"]
            continue
        met_color = steps[1]["color"] if target.comparison == ">" else steps[0]["color"]
        assert (met_color, steps[1]["value"]) == ("green", target.value)
        if target.key not in ("meanTimeToRecovery", "meanTimeBetweenFailures"):  # no incident
            assert (match.group(1), "production") in written
    assert len(row) == 1 + 7
