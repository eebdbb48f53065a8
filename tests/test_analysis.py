"""The canary analysis on crafted query results: checks, decision, JSON; no network.

A fake Prometheus answers each of the analysis's queries with the samples a real one would
return for the given per-track numbers (5-minute window, the release process's thresholds).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from math import comb

import httpx
import pytest

from involution.analysis.canary import ALPHA, CONFIDENCE, Analysis, Check, analyse
from involution.analysis.exact_tests import (
    binomial_greater,
    binomial_less,
    fisher_greater,
    min_sample,
)
from involution.analysis.queries import (
    ACCURACY,
    ERRORS,
    LATENCY,
    LATENCY_COUNT,
    RATE,
    REQUESTS,
    queries,
)
from involution.config.monitoring import MonitoringSettings
from involution.prometheus import PrometheusClient, PrometheusError, Sample

pytestmark = pytest.mark.unit

M = MonitoringSettings()
NS = "involution"
WINDOW_S = 300
AT = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
URL = "http://prometheus.test:9090"
Track = dict[str, float | None]


def track(rps: float, error_pct: float, p95_s: float, accuracy: float | None = 0.0) -> Track:
    """What Prometheus returns for one track whose numbers are constant over the window."""
    n = rps * WINDOW_S
    return {
        RATE: rps,
        REQUESTS: n,
        ERRORS: n * error_pct / 100 if error_pct else None,  # no 5xx series at all
        LATENCY: p95_s,
        LATENCY_COUNT: n,
        ACCURACY: accuracy,
    }


HEALTHY_STABLE = track(180, 0.05, 0.1556)
HEALTHY_CANARY = track(20, 0.05, 0.1556)


class FakePrometheus:
    def __init__(self, canary: Track | None, stable: Track | None = HEALTHY_STABLE) -> None:
        self.url = URL
        self.by_query = {promql: kind for kind, promql in queries(M, NS).items()}
        self.tracks = {"canary": canary or {}, "stable": stable or {}}
        self.times: list[datetime | None] = []

    def query(self, promql: str, at: datetime | None = None) -> list[Sample]:
        self.times.append(at)
        kind = self.by_query[promql]
        return [
            Sample({"track": name}, value)
            for name, numbers in self.tracks.items()
            if (value := numbers.get(kind)) is not None
        ]


def run(canary: Track | None, stable: Track | None = HEALTHY_STABLE) -> Analysis:
    return analyse(FakePrometheus(canary, stable), M, NS, AT)


def verdicts(a: Analysis) -> dict[str, str]:
    return {c.name: c.verdict for c in a.checks}


def numbers(c: Check) -> list[float | None]:
    return [c.value, c.threshold, c.baseline]


def test_healthy_canary_advances() -> None:
    a = run(HEALTHY_CANARY)
    assert a.decision == "advance", a.reason
    assert set(verdicts(a).values()) == {"pass"}
    assert a.check("error-rate").value == pytest.approx(0.05)
    assert "95% confidence" in a.check("error-rate").message
    assert a.reason.startswith("Advance: all 8 checks passed")


def test_error_rate_over_1pct_rolls_back() -> None:
    a = run(track(20, 2.0, 0.1556))
    assert a.decision == "rollback"
    e = a.check("error-rate")
    assert e.verdict == "fail"
    assert numbers(e) == pytest.approx([2.0, 1.0, 0.05])
    assert verdicts(a)["error-rate-spike"] == "pass"
    assert verdicts(a)["error-rate-increase"] == "fail"
    assert "error-rate fail" in a.reason


def test_error_spike_over_5pct_rolls_back() -> None:
    a = run(track(20, 6.0, 0.1556))
    assert a.decision == "rollback"
    assert verdicts(a)["error-rate-spike"] == "fail"


def test_latency_over_300ms_rolls_back() -> None:
    a = run(track(20, 0.05, 0.45))
    assert a.decision == "rollback"
    v = verdicts(a)
    assert v["response-time"] == "fail"
    assert v["response-time-degradation"] == "pass"  # 450 < 155.6 * 3
    assert v["response-time-increase"] == "fail"
    r = a.check("response-time")
    assert numbers(r) == pytest.approx([450, 300, 155.6])


def test_latency_4x_stable_under_300ms_rolls_back() -> None:
    a = run(track(20, 0.05, 0.25), track(180, 0.05, 0.0625))
    assert a.decision == "rollback"
    d = a.check("response-time-degradation")
    assert d.verdict == "fail"
    assert numbers(d) == pytest.approx([250, 187.5, 62.5])
    assert verdicts(a)["response-time"] == "pass"


def test_latency_in_the_inf_bucket_rolls_back_and_stays_valid_json() -> None:
    a = run(track(20, 0.05, math.inf))
    assert a.decision == "rollback"
    assert a.check("response-time").verdict == "fail"
    body = json.dumps(a.to_json(), allow_nan=False)
    assert "inf ms" in body


def test_no_canary_series_holds_and_never_passes() -> None:
    a = run(None)
    assert a.decision == "hold"
    assert "pass" not in verdicts(a).values()
    assert "no canary requests" in a.check("traffic").message


def test_canary_traffic_under_the_minimum_holds_even_with_errors() -> None:
    """Half of 0.1 req/s failing: the alert rules stay silent, the analysis holds."""
    a = run(track(0.1, 50.0, 0.5))
    assert a.decision == "hold"
    t = a.check("traffic")
    assert (t.verdict, t.value, t.threshold, t.baseline) == ("inconclusive", 0.1, 0.2, 180)
    assert {verdicts(a)[n] for n in ("error-rate", "response-time")} == {"inconclusive"}


def test_borderline_small_counts_are_inconclusive_not_a_rollback() -> None:
    """2 errors in 150 requests: 1.33% over 1%, but p = 0.44 is no evidence."""
    a = run(track(0.5, 2 / 1.5, 0.1556))
    e = a.check("error-rate")
    assert e.verdict == "inconclusive"
    assert e.value == pytest.approx(1.3333, rel=1e-3)
    assert "2 5xx of 150" in e.message
    assert "a pass needs 299 requests" in e.message
    assert a.decision == "hold"


def test_few_requests_without_errors_cannot_pass() -> None:
    a = run(track(0.5, 0.0, 0.1556))  # 0 of 150: under 299, no evidence of < 1%
    assert verdicts(a)["error-rate"] == "inconclusive"
    assert verdicts(a)["error-rate-spike"] == "pass"  # 0 of 150 does show < 5%
    assert a.decision == "hold"


def test_stable_missing_makes_the_comparisons_inconclusive() -> None:
    a = run(HEALTHY_CANARY, None)
    v = verdicts(a)
    assert v["error-rate"] == v["response-time"] == "pass"
    assert v["error-rate-increase"] == "inconclusive"
    assert v["response-time-degradation"] == v["response-time-increase"] == "inconclusive"
    assert a.decision == "hold"
    assert a.check("error-rate").baseline is None


def test_accuracy_failure_rolls_back_and_no_series_holds() -> None:
    assert run(track(20, 0.05, 0.1556, accuracy=1.0)).decision == "rollback"
    held = run(track(20, 0.05, 0.1556, accuracy=None))
    assert held.decision == "hold"
    assert verdicts(held)["accuracy"] == "inconclusive"


def test_queries_use_the_raw_series_at_one_time() -> None:
    fake = FakePrometheus(HEALTHY_CANARY)
    analyse(fake, M, NS, AT)
    assert fake.times == [AT] * 6
    q = queries(M, NS)
    assert q[RATE] == (
        'sum by (track) (rate(involution_http_requests_total{namespace="involution"}[5m]))'
    )
    assert 'code=~"5.."' in q[ERRORS]
    assert q[LATENCY].startswith("histogram_quantile(0.95, sum by (le, track) (rate(")
    assert "involution_http_request_duration_seconds_bucket" in q[LATENCY]
    assert all("involution:" not in promql for promql in q.values())  # no recording rules


def test_json_shape() -> None:
    body = json.loads(json.dumps(run(HEALTHY_CANARY).to_json()))
    assert set(body) == {
        "decision",
        "checks",
        "namespace",
        "prometheusUrl",
        "evaluatedAt",
        "reason",
    }
    assert body["evaluatedAt"] == "2026-11-24T12:00:00Z"
    assert body["prometheusUrl"] == URL
    assert all(
        set(c) == {"name", "verdict", "value", "threshold", "baseline", "message"}
        for c in body["checks"]
    )


def test_minimum_samples() -> None:
    assert CONFIDENCE == 0.95
    assert min_sample(0.01, ALPHA) == 299  # error rate 1%
    assert min_sample(0.05, ALPHA) == 59  # spike 5%; also p95 latency observations
    assert min_sample(0.001, ALPHA) == 2995  # 0.1 points over stable
    assert 0.99**299 < ALPHA <= 0.99**298


def exact_binomial_ge(k: int, n: int, p: Fraction) -> float:
    return float(sum(comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1)))


@pytest.mark.parametrize(("k", "n"), [(0, 10), (1, 10), (3, 100), (2, 150), (7, 400), (40, 40)])
def test_binomial_tails_match_exact_arithmetic(k: int, n: int) -> None:
    p = Fraction(1, 100)
    assert binomial_greater(k, n, 0.01) == pytest.approx(exact_binomial_ge(k, n, p), rel=1e-9)
    less = 1 - exact_binomial_ge(k + 1, n, p)
    assert binomial_less(k, n, 0.01) == pytest.approx(less, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(
    "table", [(3, 1, 1, 3), (8, 2, 1, 5), (0, 10, 0, 10), (2, 148, 27, 53973), (5, 5, 0, 10)]
)
def test_fisher_matches_the_hypergeometric_tail(table: tuple[int, int, int, int]) -> None:
    a, b, c, d = table
    row, events, total = a + b, a + c, a + b + c + d
    top = min(row, events)
    exact = Fraction(
        sum(comb(events, x) * comb(total - events, row - x) for x in range(a, top + 1)),
        comb(total, row),
    )
    assert fisher_greater(a, b, c, d) == pytest.approx(float(exact), rel=1e-9)


def test_fisher_on_the_lady_tasting_tea() -> None:
    assert fisher_greater(3, 1, 1, 3) == pytest.approx(17 / 70)  # Fisher's own example


def test_large_counts_stay_fast_and_sane() -> None:
    assert binomial_less(300, 300_000, 0.01) < 1e-100
    assert math.isclose(binomial_greater(0, 300_000, 0.01), 1.0)


def test_the_domain_never_imports_pulumi() -> None:
    code = "import sys, involution.analysis.canary; assert 'pulumi' not in sys.modules, 'pulumi'"
    subprocess.run([sys.executable, "-c", code], check=True)


def mock_client(handler: httpx.MockTransport) -> PrometheusClient:
    return PrometheusClient(URL, transport=handler)


def test_client_parses_a_vector_and_sends_the_time() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        result = [{"metric": {"track": "canary"}, "value": [1.0, "NaN"]}]
        return httpx.Response(
            200, json={"status": "success", "data": {"resultType": "vector", "result": result}}
        )

    samples = mock_client(httpx.MockTransport(answer)).query("up", AT)
    assert samples[0].labels == {"track": "canary"}
    assert math.isnan(samples[0].value)
    assert seen[0].url.path == "/api/v1/query"
    assert seen[0].url.params["time"] == f"{AT.timestamp():.3f}"


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(503, text="down"), "not JSON"),
        (httpx.Response(400, json={"status": "error", "error": "parse error"}), "parse error"),
        (httpx.Response(200, json={"status": "error", "error": "bad"}), "HTTP 200: bad"),
        (httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix"}}), "un"),
        (httpx.Response(200, text="<html>"), "not JSON"),
    ],
)
def test_client_errors_name_the_url(response: httpx.Response, expected: str) -> None:
    client = mock_client(httpx.MockTransport(lambda _: response))
    with pytest.raises(PrometheusError, match=expected) as caught:
        client.query("up")
    assert URL in str(caught.value)


def test_client_connection_failure_is_a_prometheus_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(PrometheusError, match="unreachable"):
        mock_client(httpx.MockTransport(refuse)).query("up")


class ServerClock(FakePrometheus):
    """Answers `vector(time())` with the server's own clock, as Prometheus does."""

    def __init__(self, server_now: datetime) -> None:
        super().__init__(HEALTHY_CANARY)
        self.server_now = server_now

    def query(self, promql: str, at: datetime | None = None) -> list[Sample]:
        if promql == "vector(time())":
            self.times.append(at)
            return [Sample({}, self.server_now.timestamp())]
        return super().query(promql, at)


def test_without_a_time_every_query_asks_at_prometheus_own_now() -> None:
    server_now = AT + timedelta(hours=25)  # the caller's clock is a day off Prometheus's
    fake = ServerClock(server_now)
    analysis = analyse(fake, M, NS)
    assert fake.times == [None] + [server_now] * 6
    assert analysis.decision == "advance"
