"""`involution report` over stacks the real engine walked through several releases: promoted,
rolled back, a failed update, a patch taking the direct path, a production release promoted
from staging past its day-long soaks (the program's clock moved by libfaketime). Every figure
is checked exactly against `pulumi stack history`, read here on its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from harness.engine.clock import shifted_clock
from harness.engine.project import EngineProject, copy_project, history
from harness.live.prometheus import (
    HEALTHY_LATENCY,
    Scenario,
    TrackLoad,
    healthy_scenario,
    live_prometheus,
)
from harness.release_walks import PASSED
from harness.scenarios import TEST_ALERTING, TEST_REDIS_PASSWORD, approval_expiring
from involution.config.monitoring import MonitoringSettings
from tests.dev_walk import Walk
from tests.tooling import require_tool

# One worker for the whole module (the walked stacks of the report: one module fixture).
pytestmark = [pytest.mark.engine, pytest.mark.xdist_group("engine_report")]

NAMESPACE = "report"  # the live Prometheus's healthy scenario: the analysis says advance
# Production's soak floors are 24h at 10, 24h at 50, 72h at 100: each step forward runs the
# program this far ahead of the real clock.
PRODUCTION_CLOCK = {"50": timedelta(hours=25), "100": timedelta(hours=50)}
PROMOTION_CLOCK = timedelta(hours=123)
# The backfilled series start this long before the walk's first update.
WALK_MARGIN_SECONDS = 120


@dataclass
class Walked:
    project: EngineProject
    history: dict[str, list[dict[str, Any]]]  # `pulumi stack history --json`, newest first
    prometheus_url: str  # serves dev's failing canary (namespace involution) over its walk

    def updates(self, stack: str) -> list[dict[str, Any]]:
        """Oldest first (the file backend numbers no versions: the order is the record)."""
        return list(reversed(self.history[stack]))

    def report(self, *args: str) -> dict[str, Any]:
        result = self.project.involution("report", *args, "--json")
        assert result.returncode == 0, result.stdout + result.stderr
        assert TEST_REDIS_PASSWORD not in result.stdout
        record: dict[str, Any] = json.loads(result.stdout)
        return record


def at(update: dict[str, Any], key: str = "endTime") -> datetime:
    return datetime.fromisoformat(update[key])


def setting(update: dict[str, Any], key: str) -> str | None:
    """The stack config value `involution:<key>` the update ran with."""
    value = update.get("config", {}).get(f"involution:{key}", {}).get("value")
    return None if value is None else str(value)


def up(
    project: EngineProject, stack: str, clock: timedelta | None = None, **changes: str | None
) -> None:
    env = shifted_clock(clock) if clock else None
    project.update(stack, {k.replace("__", "."): v for k, v in changes.items()}, env_extra=env)


def init_gated(project: EngineProject, stack: str, environment: str, url: str, **more: str) -> None:
    project.init_stack(
        stack,
        {
            "environment": environment,
            "namespace": NAMESPACE,
            "renderDirectory": f"rendered/{stack}",
            "stableVersion": "v1.2.2",
            "canaryPhase": "none",
            "gates": PASSED,
            "monitoring.prometheusUrl": url,
            **{key.replace("__", "."): value for key, value in more.items()},
        },
    )
    project.with_secrets(stack, TEST_REDIS_PASSWORD, TEST_ALERTING)


def walk_staging_and_production(project: EngineProject, url: str) -> None:
    no_soak = {f"soak__{phase}": "0s" for phase in ("10", "50", "100")}
    init_gated(project, "staging", "staging", url, **no_soak)
    project.up("staging")
    approval = approval_expiring(datetime.now(UTC), timedelta(days=30))
    init_gated(
        project,
        "production",
        "production",
        url,
        promoteFrom="staging",
        approval=json.dumps(approval),
    )
    project.up("production")
    for phase in ("10", "50", "100"):
        up(project, "staging", canaryVersion="v1.3.0", canaryPhase=phase)
    up(project, "staging", stableVersion="v1.3.0", canaryVersion=None, canaryPhase="none")
    up(project, "production", canaryVersion="v1.3.0", canaryPhase="10")
    for phase, clock in PRODUCTION_CLOCK.items():
        up(project, "production", clock, canaryPhase=phase)
    up(
        project,
        "production",
        PROMOTION_CLOCK,
        stableVersion="v1.3.0",
        canaryVersion=None,
        canaryPhase="none",
    )
    up(project, "staging", stableVersion="v1.3.1")
    up(project, "production", stableVersion="v1.3.1")


@pytest.fixture(scope="module")
def walked(
    tmp_path_factory: pytest.TempPathFactory, dev_walk_template: tuple[EngineProject, Walk]
) -> Iterator[Walked]:
    """dev as the recorded walk left it (tests/dev_walk.py), then staging and production."""
    project = copy_project(dev_walk_template[0], tmp_path_factory.mktemp("report"))
    prometheus = require_tool("prometheus", "prometheus")
    promtool = require_tool("promtool", "prometheus")
    workdir: Path = tmp_path_factory.mktemp("prometheus")
    # dev's v1.4.0 canary, rolled back in walk_dev: 20 requests a second, 4% of them 5xx. The
    # series reach back over the whole recorded walk, however long ago the session made it.
    dev_canary = Scenario(
        "involution",
        TrackLoad(20, 4.0, HEALTHY_LATENCY),
        TrackLoad(180, 0.05, HEALTHY_LATENCY),
    )
    scenario = [healthy_scenario(NAMESPACE), dev_canary]
    # A sample a second: the walk's rollback stint lasts seconds (at the usual 15s there would
    # be fewer than two samples in it, `too few data`).
    first = at(history(project, "dev")[-1], "startTime")  # newest first: the oldest
    span = int((datetime.now(UTC) - first).total_seconds()) + WALK_MARGIN_SECONDS
    with live_prometheus(
        prometheus, promtool, scenario, MonitoringSettings(), workdir, step=1, span=span
    ) as live:
        walk_staging_and_production(project, live.url)
        stacks = ("dev", "staging", "production")
        yield Walked(project, {s: history(project, s) for s in stacks}, live.url)


def test_dev_counts_rates_and_recovery(walked: Walked) -> None:
    report = walked.report("--stack", "dev")
    updates = walked.updates("dev")
    assert [u["result"] for u in updates].count("failed") == 1
    assert len(updates) == 12
    # a staged step back (100 -> 50) is no rollback: v1.4.0's `rollback` is the only one
    assert (report["releases"], report["promoted"], report["rolledBack"]) == (3, 1, 1)
    assert (report["releasedDirect"], report["running"]) == (1, 0)
    assert report["deploymentSuccessRate"] == 11 / 12
    assert report["rollbackFrequency"] == pytest.approx(1 / 3)
    assert report["gatePassRate"] == 0.0  # dev records no gates
    assert report["status"]["deploymentSuccessRate"] == "missed"
    assert [(r["version"], r["outcome"]) for r in report["releaseList"]] == [
        ("v1.3.0", "promoted"),
        ("v1.4.0", "rolled-back"),
        ("v1.3.1", "released"),
    ]
    failed = next(i for i, u in enumerate(updates) if u["result"] == "failed")
    rollback = updates[failed + 1]
    assert "rollback" in rollback["message"]
    recovered_failure = (at(rollback) - at(updates[failed])).total_seconds()
    rollback_time = (at(rollback) - at(rollback, "startTime")).total_seconds()
    assert [i["cause"] for i in report["incidents"]] == ["failed-update", "rollback"]
    assert report["meanTimeToRecoverySeconds"] == (recovered_failure + rollback_time) / 2
    assert report["status"]["meanTimeToRecovery"] == "met"
    span = (at(updates[-1]) - at(updates[0], "startTime")).total_seconds()
    assert report["meanTimeBetweenFailuresSeconds"] == span / 2
    promoted = next(t for t in report["timeToProductionSeconds"] if t["version"] == "v1.3.0")
    promotion = next(u for u in updates if u["message"] == "promote v1.3.0 to stable")
    # from the start at 10 (the update after the first deployment) to its promotion
    assert promoted["seconds"] == (at(promotion) - at(updates[1])).total_seconds()


def test_production_release_promoted_from_staging(walked: Walked) -> None:
    report = walked.report("--stack", "staging", "--stack", "production")
    staging, production = walked.updates("staging"), walked.updates("production")
    assert all(u["result"] == "succeeded" for u in (*staging, *production))
    assert (report["releases"], report["promoted"], report["rolledBack"]) == (4, 2, 0)
    assert report["stacks"]["production"]["releases"] == 2
    assert report["deploymentSuccessRate"] == 1.0
    assert report["gatePassRate"] == 1.0
    assert report["rollbackFrequency"] == 0.0
    times = {t["version"]: t for t in report["timeToProductionSeconds"]}
    assert {t["stack"] for t in times.values()} == {"production"}  # staging feeds production
    first_on_staging = at(staging[1])  # the canary at 10
    promoted = at(production[4])
    assert times["v1.3.0"]["seconds"] == (promoted - first_on_staging).total_seconds()
    assert (times["v1.3.0"]["from"], times["v1.3.0"]["kind"]) == ("staging", "minor")
    patch_seconds = (at(production[5]) - at(staging[5])).total_seconds()
    assert times["v1.3.1"]["seconds"] == patch_seconds
    assert times["v1.3.1"]["status"] == "met"
    assert report["timeToProductionMedianSeconds"]["patch"] == patch_seconds
    assert report["meanTimeToRecoverySeconds"] is None
    assert report["status"]["meanTimeToRecovery"] == "too few data"
    # the program ran days ahead for production's soaks: its releaseLog says so
    log = walked.project.outputs("production")["releaseLog"]
    steps = [entry["step"] for entry in log]
    assert steps == ["first-deployment", "start", "advance", "advance", "promote", "patch"]
    promoted_at = datetime.fromisoformat(log[4]["at"])
    assert promoted_at - datetime.fromisoformat(log[1]["at"]) > PROMOTION_CLOCK - timedelta(
        minutes=10
    )


def test_markdown_and_openmetrics_of_the_walk(walked: Walked) -> None:
    project = walked.project
    markdown = project.involution("report", "--stack", "dev", "--markdown")
    assert markdown.returncode == 0, markdown.stderr
    assert "| Deployment success rate | 91.7% | > 98% | missed | 11 of 12 updates succeeded |" in (
        markdown.stdout
    )
    metrics = project.involution("report", "--stack", "dev", "--stack", "staging", "--openmetrics")
    assert metrics.returncode == 0, metrics.stderr
    samples = {
        (s.name, s.labels.get("stack")): s.value
        for family in text_string_to_metric_families(metrics.stdout)  # type: ignore[no-untyped-call]
        for s in family.samples
        if set(s.labels) == {"stack"}
    }
    assert samples["involution_release_releases", "all"] == 5
    assert samples["involution_release_failed_updates", "dev"] == 1
    assert samples["involution_release_deployment_success_ratio", "staging"] == 1.0


def test_bad_arguments_and_unknown_stacks_are_one_clear_error(walked: Walked) -> None:
    project = walked.project
    unknown = project.involution("report", "--stack", "dev", "--stack", "nowhere")
    assert unknown.returncode == 3
    assert "no stack named 'nowhere'" in unknown.stderr
    bad = project.involution("report", "--stack", "dev", "--since", "a month")
    assert bad.returncode == 2
    assert "--since 'a month': a duration longer than 0s, such as 30d" in bad.stderr
    assert "Traceback" not in unknown.stderr + bad.stderr
    window = walked.report("--stack", "dev", "--since", "1h")
    assert window["releases"] == 3  # the whole walk took minutes


def test_the_dev_rollbacks_blast_radius_from_prometheus(walked: Walked) -> None:
    """v1.4.0 answered from the start of the update that started it at 10 to the end of its
    rollback: Prometheus counts 20 requests a second over it, 4% of them errors."""
    updates = walked.updates("dev")
    started = next(u for u in updates if setting(u, "canaryVersion") == "v1.4.0")
    rolled_back = next(u for u in updates if setting(u, "canaryPhase") == "rollback")
    assert (setting(started, "canaryPhase"), started["result"]) == ("10", "succeeded")
    seconds = (at(rolled_back) - at(started, "startTime")).total_seconds()
    record = walked.report("--stack", "dev", "--prometheus-url", walked.prometheus_url)
    blast = record["blastRadius"]
    (release,) = blast["releases"]
    assert (release["version"], release["status"]) == ("v1.4.0", "measured"), release["note"]
    assert release["requests"] == pytest.approx(20 * seconds, rel=0.05)
    assert release["errors"] == pytest.approx(0.04 * 20 * seconds, rel=0.05)
    assert (blast["requests"], blast["errors"]) == (release["requests"], release["errors"])
    assert record["stacks"]["dev"]["blastRadius"]["requests"] == release["requests"]
    # dev records no monitoring.prometheusUrl: without the flag there is nobody to ask.
    unasked = walked.report("--stack", "dev")["blastRadius"]
    assert (unasked["requests"], unasked["status"]) == (None, "too few data")
    assert (
        "no Prometheus to ask: dev's monitoring.prometheusUrl was unset"
        in (unasked["releases"][0]["rollbacks"][0]["note"])
    )
    calm = walked.report("--stack", "production")["blastRadius"]
    assert (calm["releases"], calm["note"]) == ([], "too few data: no rollback in the window")
