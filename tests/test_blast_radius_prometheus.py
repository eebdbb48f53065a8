"""The blast radius against a real Prometheus serving backfilled series (harness.live.prometheus): a
canary answering 20 requests a second, 4% of them 5xx, rolled back after 10 minutes, counts
about 12,000 requests and 480 errors; a rollback older than Prometheus's data, a namespace with
no canary series and a Prometheus that does not answer are `too few data`, each with its
reason."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from harness.live.prometheus import (
    HEALTHY_LATENCY,
    LivePrometheus,
    Scenario,
    TrackLoad,
    live_prometheus,
)
from harness.release_walks import Walk, dev_walk, walk
from involution.config.monitoring import MonitoringSettings
from involution.health.blast_radius import BlastRadius, measure
from involution.health.formats import as_openmetrics
from involution.health.report import HealthReport, build_report
from involution.prometheus import PrometheusClient
from tests.tooling import require_tool

pytestmark = pytest.mark.tools

STABLE = TrackLoad(rps=180, error_percent=0.05, latency=HEALTHY_LATENCY)
BAD_CANARY = Scenario("involution", TrackLoad(20, 4.0, HEALTHY_LATENCY), STABLE)
NO_CANARY = Scenario("quiet", None, STABLE)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePrometheus]:
    prometheus = require_tool("prometheus", "prometheus")
    promtool = require_tool("promtool", "prometheus")
    workdir: Path = tmp_path_factory.mktemp("blast")
    scenarios = [BAD_CANARY, NO_CANARY]
    with live_prometheus(prometheus, promtool, scenarios, MonitoringSettings(), workdir) as p:
        yield p


def rolled_back_in_the_data(live: LivePrometheus, stack: str, **config: str) -> Walk:
    """A canary answering from 15 to 5 minutes before the last sample, then rolled back."""
    w = walk(stack, **config)
    w.now = live.end - timedelta(minutes=18)
    w.up()
    w.wait(minutes=2).up(canaryVersion="v1.4.0", canaryPhase="10")  # answers from end-15m
    w.wait(minutes=8).up(canaryPhase="rollback")  # rolled back at end-5m
    return w


def report(*walks: Walk) -> HealthReport:
    histories = [w.history() for w in walks]
    now = max(w.now for w in walks)
    return build_report(
        histories, upstreams={h.name: h for h in histories}, since=timedelta(days=60), now=now
    )


def blast(live_url: str, *walks: Walk) -> list[BlastRadius]:
    client = PrometheusClient(live_url)
    return measure([b.stint for b in report(*walks).blast_radius], lambda _: client)


def test_the_canarys_requests_and_errors_over_its_stint(live: LivePrometheus) -> None:
    (found,) = blast(live.url, rolled_back_in_the_data(live, "dev"))
    assert found.status == "measured", found.note
    assert found.requests == pytest.approx(20 * 600, rel=0.01)
    assert found.errors == pytest.approx(0.04 * 20 * 600, rel=0.02)
    assert found.stint.answering_since == live.end - timedelta(minutes=15)
    assert found.stint.rolled_back == live.end - timedelta(minutes=5)


def test_ranges_prometheus_does_not_hold_are_too_few_data(live: LivePrometheus) -> None:
    old = dev_walk()  # a month before now: far beyond the backfilled 20 minutes
    quiet = rolled_back_in_the_data(live, "qa", namespace="quiet")
    by_stack = {b.stint.stack: b for b in blast(live.url, old, quiet)}
    assert by_stack["dev"].requests is None and by_stack["dev"].errors is None
    assert by_stack["dev"].note == (
        f"too few data: Prometheus at {live.url} holds no sample of "
        "involution_http_requests_total in namespace involution from 2026-11-02T11:44:00Z: "
        "beyond its retention, or not scraped then"
    )
    assert by_stack["qa"].requests is None
    assert by_stack["qa"].note.startswith(
        f"too few data: Prometheus at {live.url} holds no sample of "
        "involution_http_requests_total of the canary (namespace quiet) from "
    )
    (down,) = blast("http://127.0.0.1:9", rolled_back_in_the_data(live, "dev"))
    assert down.requests is None
    assert down.note.startswith("too few data: Prometheus at http://127.0.0.1:9 is unreachable")


def test_the_measured_report_is_clean_openmetrics(live: LivePrometheus) -> None:
    w = rolled_back_in_the_data(live, "dev")
    measured = report(w)
    client = PrometheusClient(live.url)
    found = tuple(measure([b.stint for b in measured.blast_radius], lambda _: client))
    filled = HealthReport(**{**measured.__dict__, "blast_radius": found})
    text = as_openmetrics(filled, {"dev": filled})
    requests = next(
        s.value
        for f in text_string_to_metric_families(text)  # type: ignore[no-untyped-call]
        for s in f.samples
        if s.name == "involution_release_blast_radius_requests"
    )
    assert requests == pytest.approx(12000, rel=0.01)
    promtool = require_tool("promtool", "prometheus")
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
