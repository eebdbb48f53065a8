"""The canary analysis: advance, hold or roll back, from both tracks' numbers in Prometheus.

Each check ends `pass`, `fail` or `inconclusive`. Missing data is never a pass (a canary
without series is blind, not healthy: the NaN-as-0 trap), and a breach counts only on evidence:

- error ratios are judged on the COUNTS of the window with one-sided exact tests at
  `CONFIDENCE` (95%): `fail` when the canary's ratio is over the threshold and the binomial
  test rejects "at most the threshold"; `pass` when the test shows it under the threshold, or
  when the point estimate is under it with at least `min_sample(threshold)` requests (the
  smallest count at which zero errors would show the ratio under the threshold, 299 for 1%);
  `inconclusive` otherwise. The increase over stable uses Fisher's exact test canary vs stable,
  and needs `min_sample(increase)` requests in each track to pass (2995 for 0.1 points); it
  fails when the canary's ratio is over stable's + the points AND Fisher shows the canary's
  ratio above stable's (the test is of a difference, the points apply to the estimate).
- latency quantiles are `histogram_quantile` estimates of the window; a verdict needs at least
  `min_sample(1 - quantile)` observations (59 for p95: fewer cannot place a p95 at all).
- below `minRequestsPerSecond` every traffic-based check is inconclusive, as the alert rules
  stay silent below it; accuracy failures count at any traffic, as the accuracy alert does.
- accuracy: any failed canary accuracy check in the window rolls back; no accuracy series is
  `inconclusive` (no evidence that the canary is within tolerances, so it is held, never
  advanced and never rolled back for it; `gates.accuracy` covered the version before traffic).

Decision: `rollback` when a check whose failure is a rollback trigger of
docs/release-process.md fails; else `hold` when any check is inconclusive or a monitoring
criterion fails; else `advance`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from involution.analysis.exact_tests import (
    binomial_greater,
    binomial_less,
    fisher_greater,
    min_sample,
)
from involution.analysis.queries import Observations, Querier, TrackData, observe
from involution.config.monitoring import MonitoringSettings

CONFIDENCE = 0.95
ALPHA = 1.0 - CONFIDENCE
AT = f"at {CONFIDENCE:.0%} confidence"

Verdict = Literal["pass", "fail", "inconclusive"]
Decision = Literal["advance", "hold", "rollback"]


@dataclass(frozen=True)
class Check:
    """One criterion; `rollback` says whether its failure is a rollback trigger."""

    name: str
    verdict: Verdict
    value: float | None
    threshold: float | None
    baseline: float | None
    message: str
    rollback: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict,
            "value": _rounded(self.value),
            "threshold": _rounded(self.threshold),
            "baseline": _rounded(self.baseline),
            "message": self.message,
        }


@dataclass(frozen=True)
class Analysis:
    decision: Decision
    checks: tuple[Check, ...]
    namespace: str
    prometheus_url: str
    evaluated_at: datetime
    reason: str

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "checks": [c.to_json() for c in self.checks],
            "namespace": self.namespace,
            "prometheusUrl": self.prometheus_url,
            "evaluatedAt": self.evaluated_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "reason": self.reason,
        }


def _rounded(x: float | None) -> float | None:
    """JSON has no infinity (a quantile in the +Inf bucket): such a value is shown as null and
    stays in the message."""
    return None if x is None or not math.isfinite(x) else round(x, 6)


def _count(x: float | None) -> int:
    """Counts from increase() are extrapolated floats; the tests need whole requests."""
    return 0 if x is None else max(0, round(x))


def _pct(x: float) -> str:
    return f"{x:.3g}%"


def _ratio_percent(t: TrackData) -> float | None:
    if t.requests is None or t.errors is None or t.requests <= 0:
        return None
    return 100 * t.errors / t.requests


def _blind(obs: Observations, m: MonitoringSettings) -> str | None:
    """Why no traffic-based verdict is possible, or None."""
    c = obs.canary
    if c.rate is None or not c.has_requests:
        return f"no canary requests in the last {obs.window}: no data is no verdict"
    if c.rate < m.min_requests_per_second:
        return (
            f"canary traffic {c.rate:.3g}/s is under the minimum "
            f"{m.min_requests_per_second:g}/s: no verdict"
        )
    return None


def traffic(obs: Observations, m: MonitoringSettings) -> Check:
    blind = _blind(obs, m)
    c, s = obs.canary, obs.stable
    return Check(
        name="traffic",
        verdict="inconclusive" if blind else "pass",
        value=c.rate,
        threshold=m.min_requests_per_second,
        baseline=s.rate,
        message=blind or f"canary serves {c.rate:.3g}/s over {obs.window}",
        rollback=False,
    )


def ratio_over_threshold(
    name: str, obs: Observations, m: MonitoringSettings, percent: float, *, rollback: bool
) -> Check:
    """The canary's 5xx ratio against a fixed threshold (the 1% trigger, the 5% spike)."""
    p0 = percent / 100
    c, s = obs.canary, obs.stable
    stable_pct = _ratio_percent(s)
    n, k = _count(c.requests), _count(c.errors)
    blind = _blind(obs, m)
    if blind or n == 0:
        value = 100 * k / n if n else None
        msg = blind or "no requests"
        return Check(name, "inconclusive", value, percent, stable_pct, msg, rollback)
    ratio = k / n
    need = min_sample(p0, ALPHA)
    seen = f"{k} 5xx of {n} canary requests ({_pct(100 * ratio)})"
    greater, less = binomial_greater(k, n, p0), binomial_less(k, n, p0)
    verdict: Verdict
    if ratio > p0 and greater < ALPHA:
        verdict, why = "fail", f"over {percent:g}% {AT} (exact binomial p={greater:.2g})"
    elif less < ALPHA:
        verdict, why = "pass", f"under {percent:g}% {AT} (exact binomial p={less:.2g})"
    elif ratio <= p0 and n >= need:
        verdict, why = "pass", f"under {percent:g}% with at least {need} requests"
    else:
        verdict = "inconclusive"
        why = (
            f"too few to decide against {percent:g}% {AT} (p={min(greater, less):.2g}; "
            f"a pass needs {need} requests)"
        )
    return Check(name, verdict, 100 * ratio, percent, stable_pct, f"{seen}: {why}", rollback)


def ratio_above_stable(obs: Observations, m: MonitoringSettings) -> Check:
    """Monitoring: the canary's 5xx ratio at most `errorRateIncreasePoints` above stable's."""
    name, delta = "error-rate-increase", m.error_rate_increase_points / 100
    c, s = obs.canary, obs.stable
    nc, kc, ns, ks = _count(c.requests), _count(c.errors), _count(s.requests), _count(s.errors)
    blind = _blind(obs, m)
    if blind or nc == 0:
        return Check(name, "inconclusive", None, None, None, blind or "no requests", False)
    if ns == 0:
        msg = "no stable requests in the window: no comparison"
        return Check(name, "inconclusive", 100 * kc / nc, None, None, msg, False)
    canary, stable = kc / nc, ks / ns
    limit = stable + delta
    need = min_sample(delta, ALPHA)
    p = fisher_greater(kc, nc - kc, ks, ns - ks)
    seen = f"canary {_pct(100 * canary)} ({kc}/{nc}) vs stable {_pct(100 * stable)} ({ks}/{ns})"
    verdict: Verdict
    if canary > limit and p < ALPHA:
        verdict = "fail"
        points = m.error_rate_increase_points
        why = f"over stable + {points:g} points, and above stable {AT} (Fisher p={p:.2g})"
    elif canary <= limit and min(nc, ns) >= need:
        verdict = "pass"
        why = f"within {m.error_rate_increase_points:g} points, {need}+ requests per track"
    else:
        verdict = "inconclusive"
        why = f"too few to decide {AT} (Fisher p={p:.2g}; a pass needs {need} per track)"
    return Check(name, verdict, 100 * canary, 100 * limit, 100 * stable, f"{seen}: {why}", False)


def _latency_ms(t: TrackData, need: int) -> float | None:
    enough = t.latency_count is not None and t.latency_count >= need
    return 1000 * t.latency_seconds if enough and t.latency_seconds is not None else None


def latency_checks(obs: Observations, m: MonitoringSettings) -> list[Check]:
    """The fixed latency trigger and the two comparisons of canary's quantile with stable's."""
    q = f"p{100 * m.latency_quantile:g}"
    need = min_sample(1 - m.latency_quantile, ALPHA)
    canary = _latency_ms(obs.canary, need)
    stable = _latency_ms(obs.stable, need)
    blind = _blind(obs, m) or (
        None if canary is not None else f"fewer than {need} canary latency observations"
    )
    criteria = [
        ("response-time", None, m.latency_ms, True),
        ("response-time-degradation", m.latency_degradation_percent, None, True),
        ("response-time-increase", m.latency_increase_percent, None, False),
    ]
    checks = []
    for name, percent, fixed, rollback in criteria:
        limit = fixed if percent is None or stable is None else stable * (1 + percent / 100)
        if blind or canary is None:
            checks.append(Check(name, "inconclusive", None, limit, stable, str(blind), rollback))
            continue
        if limit is None:
            msg = f"fewer than {need} stable latency observations: no comparison"
            checks.append(Check(name, "inconclusive", canary, None, None, msg, rollback))
            continue
        over = canary > limit
        against = f"{limit:.4g} ms" if percent is None else f"stable {stable:.4g} ms +{percent:g}%"
        msg = f"canary {q} {canary:.4g} ms {'>' if over else '<='} {against}"
        checks.append(Check(name, "fail" if over else "pass", canary, limit, stable, msg, rollback))
    return checks


def accuracy(obs: Observations) -> Check:
    failures, stable = obs.canary.accuracy_failures, obs.stable.accuracy_failures
    if failures is None:
        msg = (
            "no canary accuracy series: no evidence either way (held, not advanced; "
            "gates.accuracy covered the version before it took traffic)"
        )
        return Check("accuracy", "inconclusive", None, 0.0, stable, msg, True)
    over = failures > 0
    msg = f"{failures:.3g} failed canary accuracy checks in the last {obs.window}"
    return Check("accuracy", "fail" if over else "pass", failures, 0.0, stable, msg, True)


def decide(checks: tuple[Check, ...], window: str) -> tuple[Decision, str]:
    """The decision and the one-sentence reason that names the checks that made it."""
    triggers = [c for c in checks if c.verdict == "fail" and c.rollback]
    holding = [c for c in checks if c.verdict != "pass"]

    def named(cs: list[Check]) -> str:
        return "; ".join(f"{c.name} {c.verdict} ({c.message})" for c in cs)

    if triggers:
        return "rollback", f"Roll back: {named(triggers)}."
    if holding:
        return "hold", f"Hold: {named(holding)}."
    return "advance", f"Advance: all {len(checks)} checks passed over the last {window}."


def evaluate(obs: Observations, m: MonitoringSettings, prometheus_url: str) -> Analysis:
    """The pure part: checks and decision from the numbers."""
    checks = (
        traffic(obs, m),
        ratio_over_threshold("error-rate", obs, m, m.error_rate_percent, rollback=True),
        ratio_over_threshold("error-rate-spike", obs, m, m.error_rate_spike_percent, rollback=True),
        ratio_above_stable(obs, m),
        *latency_checks(obs, m),
        accuracy(obs),
    )
    decision, reason = decide(checks, obs.window)
    return Analysis(decision, checks, obs.namespace, prometheus_url, obs.evaluated_at, reason)


def analyse(
    client: Querier, m: MonitoringSettings, namespace: str, at: datetime | None = None
) -> Analysis:
    """Query `client` at `at` and decide; PrometheusError when it cannot. Without `at`, at
    Prometheus's own now: a runner whose clock is off (or moved, as tests move it past day-long
    soaks) still asks about the minutes Prometheus has just scraped."""
    when = at or prometheus_now(client)
    return evaluate(observe(client, m, namespace, when), m, client.url)


def prometheus_now(client: Querier) -> datetime:
    """The server's clock, read once so that every query of one analysis shares it."""
    samples = client.query("vector(time())")
    if samples and math.isfinite(samples[0].value):
        return datetime.fromtimestamp(samples[0].value, UTC)
    return datetime.now(UTC)
