"""The canary analysis against a real Prometheus: one server, a namespace per scenario.

The series are backfilled with `promtool tsdb create-blocks-from openmetrics` and every query
is evaluated at the last sample, so the numbers below are exact up to Prometheus's own
arithmetic: a 5-minute window holds 300 s of each track's constant traffic.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.live.net import LOOPBACK, free_port
from harness.live.prometheus import LivePrometheus, Scenario, TrackLoad, live_prometheus
from involution.analysis.canary import Analysis, Check, analyse
from involution.config.monitoring import MonitoringSettings
from involution.prometheus import PrometheusClient, PrometheusError
from tests.tooling import require_tool

# One worker for the whole module (one Prometheus for the module).
pytestmark = [pytest.mark.tools, pytest.mark.xdist_group("analysis_prometheus")]
M = MonitoringSettings()

HEALTHY = {0.05: 0.6, 0.1: 0.9, 0.2: 0.99, 0.3: 1.0}  # p95 = 0.1 + 0.1 * 5/9 s = 155.6 ms
SLOW = {0.1: 0.5, 0.3: 0.8, 0.5: 1.0}  # p95 = 0.3 + 0.2 * 0.15/0.2 s = 450 ms
FAST = {0.05: 0.9, 0.075: 1.0}  # p95 = 62.5 ms
FOUR_X = {0.1: 0.5, 0.2: 0.9, 0.3: 1.0}  # p95 = 250 ms: 4x FAST, under 300 ms

STABLE = TrackLoad(rps=180, error_percent=0.05, latency=HEALTHY)
SCENARIOS = [
    Scenario("healthy", TrackLoad(20, 0.05, HEALTHY), STABLE),
    Scenario("errors", TrackLoad(20, 2.0, HEALTHY), STABLE),
    Scenario("slow", TrackLoad(20, 0.05, SLOW), STABLE),
    Scenario("degraded", TrackLoad(20, 0.05, FOUR_X), TrackLoad(180, 0.05, FAST)),
    Scenario("no-canary", None, STABLE),
    Scenario("trickle", TrackLoad(0.1, 10.0, HEALTHY), STABLE),  # 30 requests, 3 of them 5xx
    Scenario("borderline", TrackLoad(0.5, 2 / 1.5, HEALTHY), STABLE),  # 2 5xx of 150
]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePrometheus]:
    binary = require_tool("prometheus", "prometheus")
    promtool = require_tool("promtool", "prometheus")
    workdir = tmp_path_factory.mktemp("prometheus")
    with live_prometheus(binary, promtool, SCENARIOS, M, workdir) as live:
        yield live


def analysed(live: LivePrometheus, namespace: str) -> Analysis:
    return analyse(PrometheusClient(live.url), M, namespace, live.end)


def numbers(c: Check) -> list[float | None]:
    return [c.value, c.threshold, c.baseline]


def verdicts(a: Analysis) -> dict[str, str]:
    return {c.name: c.verdict for c in a.checks}


def test_healthy_canary_advances(prometheus: LivePrometheus) -> None:
    a = analysed(prometheus, "healthy")
    assert a.decision == "advance", a.reason
    assert numbers(a.check("traffic")) == pytest.approx([20, 0.2, 180])
    assert numbers(a.check("error-rate")) == pytest.approx([0.05, 1, 0.05])
    assert "3 5xx of 6000 canary requests" in a.check("error-rate").message
    assert numbers(a.check("response-time")) == pytest.approx([155.56, 300, 155.56], rel=1e-3)
    assert a.evaluated_at == prometheus.end
    assert a.to_json()["prometheusUrl"] == prometheus.url


def test_error_rate_over_1pct_rolls_back(prometheus: LivePrometheus) -> None:
    a = analysed(prometheus, "errors")
    assert a.decision == "rollback", a.reason
    e = a.check("error-rate")
    assert e.verdict == "fail"
    assert numbers(e) == pytest.approx([2.0, 1.0, 0.05])
    assert "120 5xx of 6000 canary requests" in e.message
    assert verdicts(a)["error-rate-spike"] == "pass"


def test_latency_over_300ms_rolls_back(prometheus: LivePrometheus) -> None:
    a = analysed(prometheus, "slow")
    assert a.decision == "rollback", a.reason
    r = a.check("response-time")
    assert r.verdict == "fail"
    assert numbers(r) == pytest.approx([450, 300, 155.56], rel=1e-3)
    assert verdicts(a)["response-time-degradation"] == "pass"  # 450 < 3 x 155.6 = 466.7


def test_latency_4x_stable_under_300ms_rolls_back(prometheus: LivePrometheus) -> None:
    a = analysed(prometheus, "degraded")
    assert a.decision == "rollback", a.reason
    d = a.check("response-time-degradation")
    assert d.verdict == "fail"
    assert numbers(d) == pytest.approx([250, 187.5, 62.5], rel=1e-3)
    assert verdicts(a)["response-time"] == "pass"


def test_no_canary_series_holds(prometheus: LivePrometheus) -> None:
    a = analysed(prometheus, "no-canary")
    assert a.decision == "hold", a.reason
    assert "pass" not in verdicts(a).values()
    t = a.check("traffic")
    assert t.value is None
    assert t.baseline == pytest.approx(180)


def test_canary_traffic_under_the_minimum_holds(prometheus: LivePrometheus) -> None:
    a = analysed(prometheus, "trickle")
    assert a.decision == "hold", a.reason
    t = a.check("traffic")
    assert t.verdict == "inconclusive"
    assert numbers(t) == pytest.approx([0.1, 0.2, 180])
    assert verdicts(a)["error-rate"] == verdicts(a)["error-rate-spike"] == "inconclusive"


def test_borderline_counts_are_too_small_to_decide(prometheus: LivePrometheus) -> None:
    a = analysed(prometheus, "borderline")
    assert a.decision == "hold", a.reason
    e = a.check("error-rate")
    assert e.verdict == "inconclusive"
    assert numbers(e) == pytest.approx([1.3333, 1.0, 0.05], rel=1e-3)
    assert "2 5xx of 150 canary requests" in e.message


def test_unreachable_prometheus_raises_with_its_url() -> None:
    url = f"http://{LOOPBACK}:{free_port()}"
    with pytest.raises(PrometheusError, match="unreachable") as caught:
        analyse(PrometheusClient(url, timeout=2.0), M, "healthy")
    assert url in str(caught.value)


def test_a_bad_query_is_a_prometheus_error(prometheus: LivePrometheus) -> None:
    with pytest.raises(PrometheusError, match="HTTP 400") as caught:
        PrometheusClient(prometheus.url).query("sum(")
    assert prometheus.url in str(caught.value)
