"""Time one mocked run of the production stack (median of 5) against a one-resource baseline.

    python -m benchmarks.mock_run [--runs 5]

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
import pulumi_kubernetes as k8s
from pulumi.runtime.sync_await import _sync_await

from involution.mockrun import MockRun, RecordingMocks
from tests.conftest import VALID_APPROVAL, run_scenario

NOW = datetime.now(UTC)
CANARY = {"canaryVersion": "v1.3.0", "canaryPhase": "50", "approval": VALID_APPROVAL}


def baseline_run() -> None:
    """The same mock machinery registering a single ConfigMap."""
    run = MockRun(stack="baseline")
    pulumi.runtime.set_mocks(RecordingMocks(run), project="involution", stack="baseline")

    async def program() -> None:
        k8s.core.v1.ConfigMap("baseline", data={"k": "v"})

    _sync_await(pulumi.runtime.stack.run_pulumi_func(program))


def production_run() -> None:
    run_scenario("production", CANARY)  # with the secrets an operator sets per stack


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
        "from tests.conftest import VALID_APPROVAL, run_scenario;"
        "run_scenario('production', {'canaryVersion': 'v1.3.0', 'canaryPhase': '50',"
        " 'approval': VALID_APPROVAL})"
    )
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    base, _ = median_seconds(baseline_run, runs)
    prod, samples = median_seconds(production_run, runs)
    cold = cold_seconds(runs)
    resources = len(run_scenario("production", CANARY).resources)
    print(f"mocked run, production stack at phase 50 ({resources} resources), {runs} runs")
    print(f"  warm median     {prod * 1000:8.1f} ms   samples {[round(s * 1000) for s in samples]}")
    print(f"  baseline median {base * 1000:8.1f} ms   (one ConfigMap, same mocks)")
    print(f"  ratio           {prod / base:8.1f} x baseline")
    print(f"  cold median     {cold * 1000:8.1f} ms   (new interpreter, imports included)")


if __name__ == "__main__":
    main()
