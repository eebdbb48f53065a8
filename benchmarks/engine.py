"""Time the real engine on the production config in render mode: `pulumi preview` and a
no-op `pulumi up` (medians of 5), against `pulumi version` as the CLI's own start-up cost.

    python -m benchmarks.engine [--runs 5]        # BENCH_QUICK=1: one run

Runs on a copy of the project with its own file backend and passphrase (harness/engine/project.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.quick import full_or_quick, mode
from cli.interrupts import let_children_hear_sigint
from harness.engine.project import EngineProject, make_project
from harness.scenarios import TEST_ALERTING, TEST_REDIS_PASSWORD
from harness.tooling import ToolMissing


def timed(action: Callable[[], object], runs: int) -> tuple[float, list[float]]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), samples


def production_in_render_mode(base: Path) -> EngineProject:
    project = make_project(base)
    project.init_stack("production", {"renderDirectory": "rendered/production"})
    project.with_secrets("production", TEST_REDIS_PASSWORD, TEST_ALERTING)
    return project


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=full_or_quick(5, 1))
    runs = parser.parse_args().runs
    let_children_hear_sigint()  # as a background job, each `pulumi` waited 5 s more
    with tempfile.TemporaryDirectory() as folder:
        try:
            project = production_in_render_mode(Path(folder))
        except ToolMissing as absent:
            print(absent, file=sys.stderr)
            return 2
        first_up, _ = timed(lambda: project.up("production"), 1)
        version, _ = timed(lambda: project.pulumi("version"), runs)
        preview, preview_samples = timed(
            lambda: project.pulumi("preview", "--stack", "production"), runs
        )
        noop_up, up_samples = timed(lambda: project.up("production"), runs)
        resources = len(project.rendered("rendered/production"))
    print(
        f"real engine, production stack in render mode ({resources} manifests),"
        f" {runs} runs, {mode()}"
    )
    print(f"  first up (creates)   {first_up:6.2f} s")
    shown = [round(s, 2) for s in preview_samples]
    print(f"  preview median       {preview:6.2f} s   samples {shown}")
    print(f"  no-op up median      {noop_up:6.2f} s   samples {[round(s, 2) for s in up_samples]}")
    print(f"  `pulumi version`     {version:6.2f} s   (CLI start-up baseline)")
    print(f"  preview / baseline   {preview / version:6.1f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
