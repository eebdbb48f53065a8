"""Time from a rollback trigger becoming visible in Prometheus to `involution watch` finishing
the rollback's `pulumi up`, against the release process's 5 minutes for an emergency rollback.

    python -m benchmarks.watch_rollback [--runs 3] [--interval 5s]   # BENCH_QUICK=1: one run

Each run: the dev stack of a project copy with a canary at 10%, `involution watch` polling a
Prometheus that is not up yet; then a Prometheus starts serving a canary at 4% errors (the
trigger is visible from the moment it answers ready); the figure is the time until the
watch has rolled back and exited. Medians, with the baseline of one plain rollback `pulumi up`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.quick import full_or_quick, mode
from cli.interrupts import let_children_hear_sigint
from harness.engine.project import EngineProject, engine_bin, make_project
from harness.live.net import LOOPBACK, free_port
from harness.live.prometheus import Scenario, TrackLoad, live_prometheus
from harness.paths import PROJECT_DIR
from harness.tooling import ToolMissing, tool_path
from involution.config.monitoring import MonitoringSettings

RELEASE_PROCESS_LIMIT_SECONDS = 5 * 60
HEALTHY = {0.05: 0.6, 0.1: 0.9, 0.2: 0.99, 0.3: 1.0}
FAILING = Scenario(
    "involution",
    TrackLoad(20, 4.0, HEALTHY),
    TrackLoad(rps=180, error_percent=0.05, latency=HEALTHY),
)


def canary_at_10(base: Path, url: str) -> EngineProject:
    project = make_project(base)
    project.init_stack("dev", {"monitoring.prometheusUrl": url})
    project.up("dev")
    project.configure("dev", {"canaryVersion": "v1.3.0", "canaryPhase": "10"})
    project.up("dev")
    return project


def one_run(base: Path, interval: str) -> tuple[float, float]:
    """(trigger visible -> rollback done, plain rollback up) in seconds."""
    prometheus = tool_path("prometheus", "prometheus")
    promtool = tool_path("promtool", "prometheus")
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    project = canary_at_10(base / "project", url)
    env = {
        **project.env,
        "INVOLUTION_PROJECT_DIR": str(project.root),
        "INVOLUTION_PULUMI_ROOT": str(engine_bin().parent),
    }
    watch = subprocess.Popen(
        [
            str(PROJECT_DIR / "venv/bin/involution"),
            "watch",
            "--stack",
            "dev",
            "--interval",
            interval,
        ],
        cwd=project.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    (base / "prom").mkdir(parents=True)
    try:
        with live_prometheus(
            prometheus, promtool, [FAILING], MonitoringSettings(), base / "prom", port=port
        ):
            visible = time.perf_counter()
            watch.wait(timeout=RELEASE_PROCESS_LIMIT_SECONDS)
            detected = time.perf_counter() - visible
    finally:
        if watch.poll() is None:
            watch.kill()
    if project.outputs("dev")["phase"] != "rollback":
        raise RuntimeError("watch exited without rolling back")
    project.set("dev", "canaryPhase", "10")
    project.up("dev")
    project.set("dev", "canaryPhase", "rollback")
    start = time.perf_counter()
    project.up("dev")
    return detected, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=full_or_quick(3, 1))
    parser.add_argument("--interval", default="5s")
    args = parser.parse_args()
    let_children_hear_sigint()  # as a background job, each `pulumi` waited 5 s more
    detections: list[float] = []
    plain: list[float] = []
    try:
        for run in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                detected, baseline = one_run(Path(folder) / str(run), args.interval)
            detections.append(detected)
            plain.append(baseline)
    except ToolMissing as absent:
        print(absent, file=sys.stderr)
        return 2
    median = statistics.median(detections)
    print(f"involution watch rollback, {args.runs} runs, interval {args.interval}, {mode()}")
    print(
        f"  trigger visible -> rollback up done: median {median:.1f} s "
        f"(min {min(detections):.1f}, max {max(detections):.1f})"
    )
    print(f"  of which one rollback `pulumi up`: median {statistics.median(plain):.1f} s")
    print(
        f"  release process limit {RELEASE_PROCESS_LIMIT_SECONDS} s: "
        f"{median / RELEASE_PROCESS_LIMIT_SECONDS:.1%} of it"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
