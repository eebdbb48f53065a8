"""Time one mocked run of the production stack (median of 5) against a one-resource baseline.

    python -m benchmarks.mock_run [--runs 5]      # BENCH_QUICK=1: one run

Both are measured in the same process after one warm-up, so the ratio says what the program
itself costs over the Pulumi mock machinery; the cold figure includes interpreter start and
imports, as `pulumi preview` pays them.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pulumi
from pulumi.runtime.sync_await import _sync_await

from benchmarks.quick import full_or_quick, mode
from components.kubernetes_object import CONFIG_MAP, KubernetesObject
from harness.mockrun import MockRun, RecordingMocks
from harness.scenarios import approval_expiring, canary_overrides, run_scenario

# The real clock, as `pulumi up` runs: the approval is valid for an hour from the start.
NOW = datetime.now(UTC)
CANARY = canary_overrides("50", approval=approval_expiring(NOW))


def baseline_run() -> None:
    """The same mock machinery registering a single ConfigMap."""
    run = MockRun(stack="baseline")
    pulumi.runtime.set_mocks(RecordingMocks(run), project="involution", stack="baseline")

    async def program() -> None:
        KubernetesObject("baseline", CONFIG_MAP, metadata={}, fields={"data": {"k": "v"}})

    _sync_await(pulumi.runtime.stack.run_pulumi_func(program))


def production_run() -> None:
    run_scenario("production", CANARY, now=NOW)  # with the secrets an operator sets per stack


def median_seconds(fn: Callable[[], None], runs: int) -> tuple[float, list[float]]:
    fn()  # warm-up: imports and first-call caches
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), samples


def cold_seconds(runs: int) -> float:
    code = (
        "from datetime import UTC, datetime;"
        "from harness.scenarios import approval_expiring, canary_overrides, run_scenario;"
        "now = datetime.now(UTC);"
        "run_scenario('production', canary_overrides('50', approval=approval_expiring(now)),"
        " now=now)"
    )
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=full_or_quick(5, 1))
    runs = parser.parse_args().runs
    base, _ = median_seconds(baseline_run, runs)
    prod, samples = median_seconds(production_run, runs)
    cold = cold_seconds(runs)
    resources = len(run_scenario("production", CANARY, now=NOW).resources)
    print(
        f"mocked run, production stack at phase 50 ({resources} resources), {runs} runs, {mode()}"
    )
    print(f"  warm median     {prod * 1000:8.1f} ms   samples {[round(s * 1000) for s in samples]}")
    print(f"  baseline median {base * 1000:8.1f} ms   (one ConfigMap, same mocks)")
    print(f"  ratio           {prod / base:8.1f} x baseline")
    print(f"  cold median     {cold * 1000:8.1f} ms   (new interpreter, imports included)")


if __name__ == "__main__":
    main()
