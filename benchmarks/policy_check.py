"""Time the policy check of the whole production stack through the pack (median of 5).

    python -m benchmarks.policy_check [--runs 5]  # BENCH_QUICK=1: one run

Prints, separately: starting the pack process (spawn, port on stdout, Handshake,
ConfigureStack, GetAnalyzerInfo); one whole check (Configure, Analyze for every resource,
AnalyzeStack); one Analyze of a single Deployment; one AnalyzeStack. The resources are those of
a production canary at 50% rendered under mocks once, outside the timings, on the real clock
with an approval valid for an hour from the start (the pack judges expiry against now).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from benchmarks.quick import full_or_quick, mode
from harness.scenarios import approval_expiring, canary_overrides, run_scenario
from tools.policy_client import (
    CONFIG_DIR,
    PackResource,
    PolicyPackProcess,
    load_policy_config,
    resources_from_run,
)


def median_ms(fn: Callable[[], object], runs: int) -> tuple[float, list[float]]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), samples


def production_resources(now: datetime) -> list[PackResource]:
    canary = canary_overrides("50", approval=approval_expiring(now))
    return resources_from_run(run_scenario("production", canary, now=now, preview=True))


def start_and_stop() -> None:
    with PolicyPackProcess(stack="production"):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=full_or_quick(5, 1))
    runs = parser.parse_args().runs
    resources = production_resources(datetime.now(UTC))
    config = load_policy_config(CONFIG_DIR / "production.json")
    deployment = next(r for r in resources if r.type == "kubernetes:apps/v1:Deployment")

    startup, startup_samples = median_ms(start_and_stop, runs)
    with PolicyPackProcess(stack="production") as pack:

        def whole_check() -> None:
            pack.configure(config)
            report = pack.check(resources)
            assert not report.mandatory, [v.describe() for v in report.mandatory]

        whole_check()  # warm-up
        check, check_samples = median_ms(whole_check, runs)
        analyze, _ = median_ms(lambda: pack.analyze(deployment), runs * 4)
        analyze_stack, _ = median_ms(lambda: pack.analyze_stack(resources), runs)

    print(f"policy check, {mode()}")
    print(f"resources checked:                   {len(resources)} (production, canary at 50%)")
    print(f"pack startup (median of {runs}):          {startup:7.1f} ms  {_fmt(startup_samples)}")
    print(f"whole check (median of {runs}):           {check:7.1f} ms  {_fmt(check_samples)}")
    print(f"  Analyze, one Deployment (median):   {analyze:7.1f} ms")
    print(f"  AnalyzeStack, all resources:        {analyze_stack:7.1f} ms")
    print(f"  per resource (whole check / n):     {check / len(resources):7.1f} ms")


def _fmt(samples: list[float]) -> str:
    return "[" + ", ".join(f"{s:.0f}" for s in samples) + "]"


if __name__ == "__main__":
    main()
