"""One-sided exact tests on counts: the binomial test and Fisher's exact test.

They give the same p-values as `scipy.stats.binomtest(k, n, p, alternative=...)` and
`scipy.stats.fisher_exact(table, alternative="greater")`; they are written out here (sums of
probability masses in log space, from the tail inwards until the terms vanish) because the
analysis needs nothing else from scipy and the pinned scipy release does not support the
project's Python 3.11. `tests/test_analysis.py` checks them against exact rational arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Callable

_NEGLIGIBLE = 1e-17  # relative size of a term below which the rest of a tail is dropped


def min_sample(rate: float, alpha: float) -> int:
    """Smallest n for which n successes without a single event show, at level `alpha`, that
    the event's probability is below `rate`: (1 - rate)**n < alpha ("rule of three" at 95%).
    Below it no outcome of the test can show a rate under `rate`."""
    if rate >= 1.0:
        return 1
    return math.floor(math.log(alpha) / math.log1p(-rate)) + 1


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _sum(log_pmf: Callable[[int], float], start: int, stop: int) -> float:
    """Sum of pmf(start..stop) walking away from the mode, where terms only decrease."""
    step = 1 if stop >= start else -1
    total = 0.0
    for i in range(start, stop + step, step):
        term = math.exp(log_pmf(i))
        total += term
        if term <= total * _NEGLIGIBLE:
            break
    return total


def _at_least(log_pmf: Callable[[int], float], k: int, lo: int, hi: int, mode: int) -> float:
    """P(X >= k) for a unimodal distribution on lo..hi."""
    if k <= lo:
        return 1.0
    if k > hi:
        return 0.0
    if k > mode:
        return min(1.0, _sum(log_pmf, k, hi))
    return max(0.0, 1.0 - _sum(log_pmf, k - 1, lo))


def _at_most(log_pmf: Callable[[int], float], k: int, lo: int, hi: int, mode: int) -> float:
    """P(X <= k) for a unimodal distribution on lo..hi."""
    if k >= hi:
        return 1.0
    if k < lo:
        return 0.0
    if k < mode:
        return min(1.0, _sum(log_pmf, k, lo))
    return max(0.0, 1.0 - _sum(log_pmf, k + 1, hi))


def _binomial(n: int, p: float) -> tuple[Callable[[int], float], int]:
    log_p, log_q = math.log(p), math.log1p(-p)

    def log_pmf(i: int) -> float:
        return _log_choose(n, i) + i * log_p + (n - i) * log_q

    return log_pmf, min(n, math.floor((n + 1) * p))


def binomial_greater(k: int, n: int, p: float) -> float:
    """p-value of k or more events in n trials when the event's probability is p."""
    if p <= 0.0:
        return 1.0 if k <= 0 else 0.0
    if p >= 1.0:
        return 1.0 if k <= n else 0.0
    log_pmf, mode = _binomial(n, p)
    return _at_least(log_pmf, k, 0, n, mode)


def binomial_less(k: int, n: int, p: float) -> float:
    """p-value of k or fewer events in n trials when the event's probability is p."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if k >= n else 0.0
    log_pmf, mode = _binomial(n, p)
    return _at_most(log_pmf, k, 0, n, mode)


def fisher_greater(a: int, b: int, c: int, d: int) -> float:
    """One-sided Fisher exact test of the table [[a, b], [c, d]], alternative "greater": the
    p-value of a or more in the top-left cell with the margins fixed (hypergeometric)."""
    total, events, row = a + b + c + d, a + c, a + b
    lo, hi = max(0, row + events - total), min(row, events)
    log_norm = _log_choose(total, row)

    def log_pmf(x: int) -> float:
        return _log_choose(events, x) + _log_choose(total - events, row - x) - log_norm

    mode = min(hi, max(lo, math.floor((row + 1) * (events + 1) / (total + 2))))
    return _at_least(log_pmf, a, lo, hi, mode)
