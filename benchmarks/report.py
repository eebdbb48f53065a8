"""Time the release report's figures over long histories (median of 5), against the smallest.

    python -m benchmarks.report [--runs 5]      # BENCH_QUICK=1: one run, smaller histories

Each history is one stack walked release after release (canary to 100 and promoted, every
tenth rolled back, a failed update among them), so the ratio per update says whether the
replay stays linear as a stack's history grows over the years; `pulumi stack history` itself
is not in these figures.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta

from benchmarks.quick import full_or_quick, mode
from harness.release_walks import Walk, walk
from involution.health.formats import as_json
from involution.health.report import build_report


def history_of(releases: int) -> Walk:
    w = walk("production")
    w.up()
    for index in range(releases):
        version = f"v1.{3 + index}.0"
        w.wait(hours=1).canary(version, "10", "50", "100")
        if index % 10 == 9:
            w.up(ok=False, canaryPhase="77")
            w.up(canaryPhase="rollback")
            w.up(canaryPhase="none", canaryVersion=None)
        else:
            w.promote()
    return w


def timed(w: Walk, runs: int) -> float:
    history = w.history()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        report = build_report([history], upstreams={}, since=timedelta(days=36500), now=w.now)
        as_json(report, {history.name: report})
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--runs", type=int, default=full_or_quick(5, 1))
    args = options.parse_args()
    sizes = full_or_quick((10, 100, 1000), (10, 100))
    print(f"release report over one stack's history, median of {args.runs} ({mode()})")
    baseline: float | None = None
    for size in sizes:
        w = history_of(size)
        seconds = timed(w, args.runs)
        per_update = seconds / len(w.updates)
        baseline = baseline or per_update
        print(
            f"  {size:>5} releases, {len(w.updates):>5} updates: {seconds * 1000:8.1f} ms, "
            f"{per_update * 1e6:7.1f} us/update ({per_update / baseline:.2f}x the smallest)"
        )


if __name__ == "__main__":
    main()
