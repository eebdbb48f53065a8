"""How long the test suite takes: the figure `make test` is held to (5 minutes warm on 2 cores).

    python -m benchmarks.tests [--workers N] [--layers unit,policy] [--no-serial]
    make bench-tests

Runs, each through make as a developer does: `make lint`, `make typecheck`, the whole suite
once as `make test` runs it (`make test-all`: every layer in one session on WORKERS xdist
workers, the Makefile's number unless --workers, with coverage), then each layer alone (`make
test-<layer>`) on WORKERS workers and on one (WORKERS=0: serial), and prints the wall time of
each beside the serial one (a ratio), the whole, the slowest 15 tests of the whole run, the
15 test modules that took the most CPU in it (harness.cpu_per_test: on two cores the run is
CPU-bound, and a test's wall time counts its wait for a core), the program's import for
`pulumi up` in dev (benchmarks.program_import) and the load average before and after: on a
shared machine the figures are only as quiet as it was. Tens of minutes of work; it asserts
nothing, and no test runs it (tests/test_benchmarks_run.py runs the `make bench` scripts in
short mode).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from harness import cpu_per_test
from harness.layers import NAMES
from harness.paths import PROJECT_DIR

SLOWEST = 15


@dataclass
class Timed:
    label: str
    seconds: float
    code: int
    summary: str  # what a failed run says of itself (failure_summary)


def make(*targets: str, env: dict[str, str] | None = None, **variables: str) -> Timed:
    command = [
        "make",
        "--no-print-directory",
        *targets,
        *(f"{k}={v}" for k, v in variables.items()),
    ]
    started = time.perf_counter()
    result = subprocess.run(
        command,
        cwd=PROJECT_DIR,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    return Timed(" ".join(command[2:]), seconds, result.returncode, failure_summary(result.stdout))


def failure_summary(output: str) -> str:
    """What a failed run says of itself: pytest's FAILED and ERROR lines and its count line,
    else the last line printed (a lint or make error). The last line of stdout and stderr
    together was the engine's bootstrap line, which named no test."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    failures = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    counts = [line for line in lines if re.search(r"\b\d+ (failed|error|errors|passed)\b", line)]
    picked = failures + counts[-1:] if failures or counts else lines[-1:]
    return "; ".join(picked)


def test_times(junit: Path) -> list[tuple[str, float]]:
    """(test id, seconds) of every test case in a JUnit XML report (setup included)."""
    cases = ET.parse(junit).getroot().iter("testcase")
    return [
        (f"{c.get('classname', '')}::{c.get('name', '')}", float(c.get("time") or 0.0))
        for c in cases
    ]


def makefile_workers() -> str:
    """The Makefile's WORKERS here (its one home): three, or four with the cluster's layers."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "--eval=workers: ; @echo $(WORKERS)", "workers"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def show(timed: Timed) -> None:
    status = "" if timed.code == 0 else f"   EXIT {timed.code}: {timed.summary}"
    print(f"  {timed.label:<40} {timed.seconds:8.1f} s{status}", flush=True)


def time_layers(layers: list[str], workers: str, serial: bool, failed: list[Timed]) -> float:
    """Each layer on the workers, then (with `serial`) on one process; prints both and their
    ratio, adds the runs that failed to `failed`, and returns the serial runs' total."""
    serial_total = 0.0
    for name in layers:
        parallel = make(f"test-{name}", WORKERS=workers)
        alone = make(f"test-{name}", WORKERS="0") if serial else None
        alone_text = (
            ""
            if alone is None
            else f"{alone.seconds:8.1f} s  {alone.seconds / parallel.seconds:5.2f}x"
        )
        serial_total += 0.0 if alone is None else alone.seconds
        print(f"  {name:<10} {parallel.seconds:8.1f} s  {alone_text}", flush=True)
        for run in (parallel, alone):
            if run is not None and run.code != 0:
                failed.append(run)
                print(f"    EXIT {run.code} ({run.label}): {run.summary}", flush=True)
    return serial_total


def show_busiest(busiest: list[cpu_per_test.ModuleCpu]) -> None:
    if not busiest:
        return
    total = sum(each.cpu for each in busiest)
    print(
        f"\nCPU of the whole run's tests: {total:.1f} s (their own processes and what they"
        f" started); the {SLOWEST} modules that took most:\n"
        f"  {'CPU s':>7} {'own':>7} {'started':>7} {'tests':>5}  module"
    )
    for each in busiest[:SLOWEST]:
        print(
            f"  {each.cpu:7.1f} {each.own:7.1f} {each.children:7.1f} {each.tests:5d}  {each.module}"
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", default=None, help="the Makefile's WORKERS if not given")
    parser.add_argument("--layers", default=",".join(NAMES))
    parser.add_argument("--no-serial", action="store_true", help="skip the serial runs")
    parser.add_argument(
        "--no-whole", action="store_true", help="skip lint, typecheck and the whole suite"
    )
    args = parser.parse_args()
    args.workers = args.workers or makefile_workers()
    layers = [name for name in args.layers.split(",") if name]
    print(f"the test suite, {args.workers} workers beside 1; {load()}", flush=True)
    whole: Timed | None = None
    slowest: list[tuple[str, float]] = []
    busiest: list[cpu_per_test.ModuleCpu] = []
    # A run that failed is reported and fails the benchmark: its time is not the suite's.
    failed: list[Timed] = []
    if not args.no_whole:
        lint, typecheck = make("lint"), make("typecheck")
        show(lint)
        show(typecheck)
        with tempfile.TemporaryDirectory() as folder:
            junit, cpu = Path(folder) / "whole.xml", Path(folder) / "cpu.jsonl"
            whole = make(
                "test-all",
                env={cpu_per_test.RECORD_ENV: str(cpu)},
                WORKERS=args.workers,
                PYTEST_ARGS=f"--junitxml={junit}",
            )
            show(whole)
            if junit.exists():
                slowest = sorted(test_times(junit), key=lambda t: -t[1])[:SLOWEST]
            if cpu.exists():
                busiest = cpu_per_test.by_module(cpu.read_text().splitlines())
        failed += [run for run in (lint, typecheck, whole) if run.code != 0]
        everything = lint.seconds + typecheck.seconds + whole.seconds
        print(f"  {'make test (lint + typecheck + all)':<40} {everything:8.1f} s")
    print(f"\nper layer alone (make test-<layer>): {args.workers} workers | serial | ratio")
    serial_total = time_layers(layers, args.workers, not args.no_serial, failed)
    if whole is not None and not args.no_serial and layers == list(NAMES):
        ratio = serial_total / whole.seconds if whole.seconds else 0.0
        print(
            f"  {'whole':<10} {whole.seconds:8.1f} s  {serial_total:8.1f} s  {ratio:5.2f}x"
            "   (serial: the layers' serial runs added up, without coverage)"
        )
    print(f"\nslowest {SLOWEST} tests of the whole run (seconds, fixtures they started included)")
    for test, seconds in slowest:
        print(f"  {seconds:7.1f}  {test}")
    show_busiest(busiest)
    print()
    subprocess.run(
        [sys.executable, "-m", "benchmarks.program_import"], cwd=PROJECT_DIR, check=False
    )
    print(f"\nafter: {load()}")
    if failed:
        print(f"{len(failed)} run(s) failed: {', '.join(run.label for run in failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
