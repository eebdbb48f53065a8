"""The benchmarks run end to end, so a change to the program (or the calendar) cannot leave
the benchmark scripts broken until someone needs their figures: the cheapest one always, all
of them through `make bench` in short mode where the engine, nginx and wrk are (CI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.engine import engine_bin
from tests.tooling import or_missing, require_tool

pytestmark = pytest.mark.engine

PROJECT_DIR = Path(__file__).resolve().parent.parent


def test_mock_run_benchmark_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.mock_run", "--runs", "1"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "resources)" in result.stdout
    for label in ("warm", "baseline", "ratio", "cold"):
        assert label in lines, result.stdout


def test_make_bench_in_short_mode_exits_0_and_prints_figures() -> None:
    """Every benchmark, as `make bench` runs them, on the real clock (an approval relative to
    now, so no date breaks it) in short mode; figures are printed, never asserted."""
    require_tool("nginx", "nginx-light")
    require_tool("wrk", "wrk")
    or_missing(engine_bin)
    make = require_tool("make", "make")
    result = subprocess.run(
        [make, "--no-print-directory", "bench", "QUICK=1"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Every benchmark the bench target runs says it ran in short mode.
    recipe = (PROJECT_DIR / "Makefile").read_text().split("\nbench:", 1)[1].split("\n\n", 1)[0]
    benchmarks = recipe.count("-m benchmarks.")
    assert benchmarks >= 6
    assert result.stdout.count("short mode (BENCH_QUICK=1)") == benchmarks, result.stdout
    for figure in (
        "ratio",
        "GET/s",
        "nginx/direct ratio",
        "whole check",
        "preview median",
        "trigger visible -> rollback up done",
        "vs plain",
    ):
        assert figure in result.stdout, result.stdout
