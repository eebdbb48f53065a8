"""Each rollback's blast radius over hand-written histories and a fake Prometheus: which stint
is counted, which queries are asked and when, `too few data` with its reason (never a zero),
per release and summed, in JSON, Markdown and OpenMetrics (promtool accepts it)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from harness.release_walks import AFTER_DEV, Walk, dev_walk, walk
from involution.analysis.queries import Querier
from involution.health.blast_radius import BlastRadius, Stint, by_release, measure, summed
from involution.health.formats import as_json, as_markdown, as_openmetrics, as_table
from involution.health.report import HealthReport, build_report
from involution.prometheus import PrometheusError, Sample
from involution.release.state import rfc3339
from involution.versions import EngineVersion
from tests.tooling import require_tool

pytestmark = pytest.mark.unit

CANARY = 'involution_http_requests_total{namespace="involution",track="canary"}'
ERRORS = 'involution_http_requests_total{namespace="involution",track="canary",code=~"5.."}'


class FakePrometheus:
    """Answers `increase` with `rps` (and `error_rps`) times the range; holds data from
    `holds_from` on; remembers every question."""

    url = "http://prometheus.test:9090"

    def __init__(
        self,
        rps: float = 20.0,
        error_rps: float | None = 0.8,
        holds_from: datetime | None = None,
        namespace_held: bool = True,
    ) -> None:
        self.rps, self.error_rps = rps, error_rps
        self.holds_from, self.namespace_held = holds_from, namespace_held
        self.asked: list[tuple[str, datetime | None]] = []

    def query(self, promql: str, at: datetime | None = None) -> list[Sample]:
        self.asked.append((promql, at))
        assert at is not None
        if "count_over_time" in promql:
            held = self.holds_from is None or at >= self.holds_from
            if promql.startswith("count(") and self.namespace_held:
                return [Sample({}, 40.0)]
            return [Sample({}, 40.0)] if held else []
        seconds = float(promql.rsplit("[", 1)[1].split("s]", maxsplit=1)[0])
        if ERRORS in promql:
            return [] if self.error_rps is None else [Sample({}, self.error_rps * seconds)]
        assert CANARY in promql
        return [Sample({}, self.rps * seconds)]


def report_of(*walks: Walk, now: datetime = AFTER_DEV) -> HealthReport:
    histories = [w.history() for w in walks]
    return build_report(
        histories, upstreams={h.name: h for h in histories}, since=timedelta(days=30), now=now
    )


def measured(report: HealthReport, client: Querier | str) -> list[BlastRadius]:
    return measure([b.stint for b in report.blast_radius], lambda _: client)


def test_the_stint_runs_from_the_canarys_first_answers_to_the_rollbacks_end() -> None:
    report = report_of(dev_walk())
    (blast,) = report.blast_radius
    stint = blast.stint
    assert (stint.stack, stint.version.tag) == ("dev", "v1.4.0")
    assert rfc3339(stint.release_started) == "2026-11-02T11:45:00Z"  # as the report names it
    assert stint.answering_since is not None
    assert rfc3339(stint.answering_since) == "2026-11-02T11:44:00Z"  # the start's update began
    assert rfc3339(stint.rolled_back) == "2026-11-02T11:56:00Z"
    assert (blast.requests, blast.status) == (None, "too few data")
    assert blast.note == "too few data: Prometheus not asked"


def test_counts_are_the_analysis_series_over_the_stint_at_its_end() -> None:
    report = report_of(dev_walk())
    prometheus = FakePrometheus()
    (blast,) = measured(report, prometheus)
    assert (blast.requests, blast.errors) == (20.0 * 720, 0.8 * 720)
    assert blast.note == (
        "increase of involution_http_requests_total of the canary (namespace involution) from "
        "2026-11-02T11:44:00Z to 2026-11-02T11:56:00Z"
    )
    end = blast.stint.rolled_back
    assert (f"sum(increase({CANARY}[720s]))", end) in prometheus.asked
    assert (f"sum(increase({ERRORS}[720s]))", end) in prometheus.asked
    assert blast.stint.answering_since is not None
    first = blast.stint.answering_since + timedelta(minutes=5)  # rateWindowMinutes
    assert (f"sum(count_over_time({CANARY}[300s]))", first) in prometheus.asked


def test_no_5xx_series_beside_the_requests_is_zero_errors() -> None:
    (blast,) = measured(report_of(dev_walk()), FakePrometheus(error_rps=None))
    assert (blast.requests, blast.errors) == (14400.0, 0.0)


@pytest.mark.parametrize(
    ("prometheus", "why"),
    [
        (
            FakePrometheus(holds_from=AFTER_DEV, namespace_held=False),
            "Prometheus at http://prometheus.test:9090 holds no sample of "
            "involution_http_requests_total in namespace involution from 2026-11-02T11:44:00Z: "
            "beyond its retention, or not scraped then",
        ),
        (
            FakePrometheus(holds_from=AFTER_DEV, namespace_held=True),
            "holds no sample of involution_http_requests_total of the canary (namespace "
            "involution) from 2026-11-02T11:44:00Z",
        ),
        ("no Prometheus to ask: dev's monitoring.prometheusUrl was unset", "no Prometheus"),
    ],
)
def test_a_range_prometheus_does_not_hold_is_too_few_data(
    prometheus: Querier | str, why: str
) -> None:
    (blast,) = measured(report_of(dev_walk()), prometheus)
    assert (blast.requests, blast.errors, blast.status) == (None, None, "too few data")
    assert blast.note.startswith("too few data: ") and why in blast.note


def test_a_prometheus_that_does_not_answer_is_too_few_data() -> None:
    class Down(FakePrometheus):
        def query(self, promql: str, at: datetime | None = None) -> list[Sample]:
            raise PrometheusError(f"Prometheus at {self.url} is unreachable: refused")

    (blast,) = measured(report_of(dev_walk()), Down())
    assert (
        blast.note
        == "too few data: Prometheus at http://prometheus.test:9090 is unreachable: refused"
    )


def retried() -> Walk:
    """v1.4.0 rolled back from 50, retried, rolled back from 10; v1.5.0 rolled back from
    shadow (it answered nobody)."""
    w = walk("staging")
    w.up()
    w.wait(minutes=5).canary("v1.4.0", "10", "50", gap=10)  # 09:06 .. 09:18
    w.wait(minutes=3).up(canaryPhase="rollback")  # 09:21 - 09:22
    w.wait(minutes=10).up(canaryPhase="10")  # retry 09:32 - 09:33
    w.wait(minutes=7).up(canaryPhase="rollback")  # 09:40 - 09:41
    w.wait(minutes=1).up(canaryPhase="none", canaryVersion=None)
    w.wait(minutes=5).up(canaryVersion="v1.5.0", canaryPhase="shadow")
    w.wait(minutes=5).up(canaryPhase="rollback")
    return w


def test_a_retried_release_sums_its_rollbacks_and_a_shadow_one_is_a_true_zero() -> None:
    w = retried()
    prometheus = FakePrometheus()
    found = measured(report_of(w, now=w.now), prometheus)
    stints = [(b.stint.version.tag, rfc3339(b.stint.answering_since or w.now)) for b in found]
    assert stints[:2] == [("v1.4.0", "2026-11-02T09:06:00Z"), ("v1.4.0", "2026-11-02T09:32:00Z")]
    assert [b.requests for b in found] == [20.0 * 16 * 60, 20.0 * 9 * 60, 0.0]
    assert found[2].stint.answering_since is None
    assert found[2].note == "rolled back from shadow: the canary answered no request"
    assert sum("v1.5.0" in b.stint.version.tag for b in found) == 1
    releases = by_release(found)
    assert [(r.version.tag, r.requests) for r in releases] == [
        ("v1.4.0", 20.0 * 25 * 60),
        ("v1.5.0", 0.0),
    ]
    assert summed(found) == (20.0 * 25 * 60, 0.8 * 25 * 60, "3 rollback(s), every one measured")
    # One unmeasured rollback leaves the sum out, never a partial total.
    short = [found[0], replace(found[1], requests=None, errors=None, note="too few data: x")]
    assert summed(short) == (None, None, "too few data: 1 of 2 rollback(s) not measured")
    assert by_release(short)[0].requests is None


def with_measured(report: HealthReport, client: Querier) -> HealthReport:
    return replace(report, blast_radius=tuple(measured(report, client)))


def test_the_report_forms_carry_it_per_release_and_summed() -> None:
    w = retried()
    report = with_measured(report_of(w, now=w.now), FakePrometheus())
    record = as_json(report, {"staging": report})["blastRadius"]
    assert (record["requests"], record["errors"], record["status"]) == (30000.0, 1200.0, "measured")
    first = record["releases"][0]
    assert (first["version"], first["requests"], len(first["rollbacks"])) == ("v1.4.0", 30000.0, 2)
    assert first["rollbacks"][0] == {
        "from": "2026-11-02T09:06:00Z",
        "rolledBack": "2026-11-02T09:22:00Z",
        "requests": 19200.0,
        "errors": 768.0,
        "status": "measured",
        "note": "increase of involution_http_requests_total of the canary (namespace "
        "involution) from 2026-11-02T09:06:00Z to 2026-11-02T09:22:00Z",
    }
    markdown = as_markdown(report)
    assert "### Blast radius of each rollback" in markdown
    assert (
        "Blast radius of the rollbacks, summed: the canaries answered 30,000 requests, 1,200 of "
        "them errors (5xx) (3 rollback(s), every one measured)" in markdown
    )
    assert "| staging | v1.4.0 | 2026-11-02T09:22:00Z | 19,200 | 768 | increase of " in markdown
    assert "| staging | v1.5.0 | " in markdown and "| 0 | 0 | rolled back from shadow" in markdown
    assert "Requests served" in as_table(report)


def test_too_few_data_is_never_written_as_zero() -> None:
    report = report_of(dev_walk())
    record = as_json(report, {"dev": report})["blastRadius"]
    assert (record["requests"], record["errors"], record["status"]) == (None, None, "too few data")
    assert record["releases"][0]["rollbacks"][0]["note"] == "too few data: Prometheus not asked"
    assert "| dev | v1.4.0 | 2026-11-02T11:56:00Z | - | - | too few data: " in as_markdown(report)
    names = {
        s.name: s.value
        for f in text_string_to_metric_families(as_openmetrics(report, {"dev": report}))  # type: ignore[no-untyped-call]
        for s in f.samples
        if s.name.startswith("involution_release_blast_radius")
    }
    assert names == {"involution_release_blast_radius_unmeasured_rollbacks": 1.0}


def test_openmetrics_per_release_and_summed_pass_promtool() -> None:
    w = retried()
    staging = with_measured(report_of(w, now=w.now), FakePrometheus())
    dev = with_measured(report_of(dev_walk()), FakePrometheus())
    both = replace(staging, blast_radius=(*dev.blast_radius, *staging.blast_radius))
    text = as_openmetrics(both, {"dev": dev, "staging": staging})
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)  # type: ignore[no-untyped-call]
        for s in family.samples
    }
    prefix = "involution_release_blast_radius"
    assert samples[f"{prefix}_requests", (("stack", "staging"), ("version", "v1.4.0"))] == 30000
    assert samples[f"{prefix}_errors", (("stack", "dev"), ("version", "v1.4.0"))] == 576
    assert samples[f"{prefix}_requests_summed", (("stack", "all"),)] == 30000 + 14400
    assert samples[f"{prefix}_unmeasured_rollbacks", (("stack", "all"),)] == 0
    promtool = require_tool("promtool", "prometheus")
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.dumps(as_json(both, {"dev": dev, "staging": staging}))  # serialisable


def test_a_stint_is_counted_on_the_namespace_and_metric_of_its_rollback() -> None:
    config = {
        "namespace": "engine-prod",
        "monitoring": json.dumps(
            {"requestsMetric": "http_requests_total", "statusLabel": "status"}
        ),
    }
    stint = Stint(
        "production",
        EngineVersion.parse("v1.4.0"),
        AFTER_DEV,
        AFTER_DEV,
        AFTER_DEV + timedelta(minutes=10),
        config,
    )

    class Empty(FakePrometheus):
        def query(self, promql: str, at: datetime | None = None) -> list[Sample]:
            self.asked.append((promql, at))
            return []

    prometheus = Empty()
    (blast,) = measure([stint], lambda _: prometheus)
    assert blast.requests is None and "namespace engine-prod" in blast.note
    assert [q for q, _ in prometheus.asked] == [
        'sum(count_over_time(http_requests_total{namespace="engine-prod",track="canary"}[300s]))',
        'count(count_over_time(http_requests_total{namespace="engine-prod"}[300s]))',
    ]


def test_a_stint_shorter_than_two_samples_is_too_few_data() -> None:
    class OneSample(FakePrometheus):
        def query(self, promql: str, at: datetime | None = None) -> list[Sample]:
            return [] if promql.startswith("sum(increase(") else super().query(promql, at)

    (blast,) = measured(report_of(dev_walk()), OneSample())
    assert (blast.requests, blast.errors) == (None, None)
    assert blast.note.startswith(
        "too few data: fewer than two samples of involution_http_requests_total of the canary "
        "(namespace involution) in the 720s from 2026-11-02T11:44:00Z"
    )
