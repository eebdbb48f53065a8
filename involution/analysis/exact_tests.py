"""One-sided exact tests on counts, from scipy: the binomial test and Fisher's exact test.

The analysis decides a breach only on evidence; these give the p-values it compares with its
confidence. `min_sample` says when a clean sample can be evidence at all.

scipy.stats is imported on first use, not with the module: it costs about a second, and every
`pulumi up` imports the analysis while only a step forward outside dev runs it.
"""

from __future__ import annotations

import math
from typing import Any


def _stats() -> Any:
    from scipy import stats

    return stats


def min_sample(rate: float, alpha: float) -> int:
    """Smallest n for which n successes without a single event show, at level `alpha`, that
    the event's probability is below `rate`: (1 - rate)**n < alpha ("rule of three" at 95%).
    Below it no outcome of the test can show a rate under `rate`."""
    if rate >= 1.0:
        return 1
    return math.floor(math.log(alpha) / math.log1p(-rate)) + 1


def binomial_greater(k: int, n: int, p: float) -> float:
    """p-value of k or more events in n trials when the event's probability is p."""
    if n <= 0:
        return 1.0
    return float(_stats().binomtest(k, n, p, alternative="greater").pvalue)


def binomial_less(k: int, n: int, p: float) -> float:
    """p-value of k or fewer events in n trials when the event's probability is p."""
    if n <= 0:
        return 1.0
    return float(_stats().binomtest(k, n, p, alternative="less").pvalue)


def fisher_greater(a: int, b: int, c: int, d: int) -> float:
    """One-sided Fisher exact test of the table [[a, b], [c, d]], alternative "greater": the
    p-value of a or more in the top-left cell with the margins fixed (hypergeometric)."""
    return float(_stats().fisher_exact([[a, b], [c, d]], alternative="greater").pvalue)
