"""The benchmarks run end to end, so a change to the program (or the calendar) cannot leave
the benchmark scripts broken until someone needs their figures: each command of `make bench`
in short mode (`make bench QUICK=1`), one test per benchmark so that the workers share them.
`make bench-tests` (benchmarks.tests) runs the whole suite twice and is no test: it would run
this test inside itself, for minutes."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from harness.engine.project import engine_bin
from harness.paths import PROJECT_DIR
from tests.tooling import or_missing, require_tool

pytestmark = pytest.mark.engine


def bench_recipe() -> list[str]:
    """The modules `make bench` runs, in its order, from the Makefile's recipe."""
    recipe = (PROJECT_DIR / "Makefile").read_text().split("\nbench:", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"-m (benchmarks\.\w+)", recipe)


# What each benchmark prints among its figures (a benchmark asserts nothing itself).
FIGURES: dict[str, tuple[str, ...]] = {
    "benchmarks.program_import": ("import program median", "heavy libraries loaded none"),
    "benchmarks.mock_run": ("resources)", "warm", "baseline", "ratio", "cold"),
    "benchmarks.nginx_split": ("GET/s", "nginx/direct ratio"),
    "benchmarks.traffic": ("vs plain",),
    "benchmarks.policy_check": ("whole check",),
    "benchmarks.engine": ("preview median",),
    "benchmarks.watch_rollback": ("trigger visible -> rollback up done",),
    "benchmarks.report": ("x the smallest",),
}


def test_every_benchmark_of_make_bench_is_run_here() -> None:
    assert bench_recipe() == list(FIGURES)


@pytest.mark.parametrize("module", list(FIGURES))
def test_make_bench_in_short_mode_exits_0_and_prints_figures(module: str) -> None:
    """Each benchmark exactly as `make bench QUICK=1` runs it (one test each, so the workers
    share them), on the real clock (an approval relative to now, so no date breaks it) in
    short mode; figures are printed, never asserted."""
    require_tool("nginx", "nginx-light")
    require_tool("wrk", "wrk")
    or_missing(engine_bin)
    result = subprocess.run(
        [sys.executable, "-m", module],
        cwd=PROJECT_DIR,
        env={**os.environ, "BENCH_QUICK": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert result.stdout.count("short mode (BENCH_QUICK=1)") == 1, result.stdout
    for figure in FIGURES[module]:
        assert figure in result.stdout, result.stdout
