"""`pulumi up` of each phase change and of a rollback on a live API server (the local cluster
of scripts/cluster.sh), beside the same steps on the dev stack in render mode.

    python -m benchmarks.cluster [--runs 3]     # BENCH_QUICK=1: one run

Each run walks none -> 10 -> 50 -> 100 -> rollback -> none (closed) on the `local` stack
(staging rules, soaks 0s, the canary analysis answered by a Prometheus serving healthy
series) and on the `dev` stack of the same project copy; each step's `pulumi up` is timed.
On the cluster an up returns when the provider sees every changed Deployment available
(kwok makes the pods Ready at once). Medians per step; figures only, no assertions. Needs the
cluster running (`make cluster`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.quick import full_or_quick, mode
from harness.cluster import local_cluster
from harness.engine import EngineProject, make_project
from harness.prometheus import healthy_scenario, live_prometheus
from harness.scenarios import TEST_REDIS_PASSWORD
from harness.tooling import ToolMissing, tool_path
from involution.config_monitoring import MonitoringSettings

NAMESPACE = "involution-bench"
# (label, config changes): one `pulumi up` each.
STEPS: tuple[tuple[str, dict[str, str | None]], ...] = (
    ("none -> 10", {"canaryVersion": "v1.3.0", "canaryPhase": "10"}),
    ("10 -> 50", {"canaryPhase": "50"}),
    ("50 -> 100", {"canaryPhase": "100"}),
    ("100 -> rollback", {"canaryPhase": "rollback"}),
    ("rollback -> none", {"canaryVersion": None, "canaryPhase": "none"}),
)


def timed_walk(project: EngineProject, stack: str) -> dict[str, float]:
    seconds: dict[str, float] = {}
    for label, changes in STEPS:
        for key, value in changes.items():
            if value is None:
                project.rm(stack, key)
            else:
                project.set(stack, key, value)
        start = time.perf_counter()
        project.up(stack)
        seconds[label] = time.perf_counter() - start
    return seconds


def one_run(base: Path, kubeconfig: Path) -> tuple[dict[str, float], dict[str, float], float]:
    """(live step -> seconds, render step -> seconds, first live up)."""
    project = make_project(base / "copy", extra_env={"KUBECONFIG": str(kubeconfig)})
    prometheus = tool_path("prometheus", "prometheus")
    promtool = tool_path("promtool", "prometheus")
    project.init_stack("local", {"namespace": NAMESPACE})
    project.set("local", "redisPassword", TEST_REDIS_PASSWORD, secret=True)
    project.init_stack("dev")
    for stack in ("local", "dev"):
        for phase in ("10", "50", "100"):
            project.set(stack, f"soak.{phase}", "0s", path=True)
    try:
        start = time.perf_counter()
        project.up("local")
        first = time.perf_counter() - start
        project.up("dev")
        (base / "prometheus").mkdir()
        with live_prometheus(
            prometheus,
            promtool,
            [healthy_scenario(NAMESPACE)],
            MonitoringSettings(),
            base / "prometheus",
        ) as live:
            project.set("local", "monitoring.prometheusUrl", live.url, path=True)
            live_steps = timed_walk(project, "local")
        render_steps = timed_walk(project, "dev")
    finally:
        project.pulumi("destroy", "--yes", "--skip-preview", "--stack", "local", check=False)
    return live_steps, render_steps, first


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=full_or_quick(3, 1))
    args = parser.parse_args()
    live: dict[str, list[float]] = {label: [] for label, _ in STEPS}
    render: dict[str, list[float]] = {label: [] for label, _ in STEPS}
    firsts: list[float] = []
    try:
        cluster = local_cluster(start=False)
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                live_steps, render_steps, first = one_run(Path(folder), cluster.kubeconfig)
            firsts.append(first)
            for label, _ in STEPS:
                live[label].append(live_steps[label])
                render[label].append(render_steps[label])
    except ToolMissing as absent:
        print(absent, file=sys.stderr)
        return 2
    print(f"pulumi up on the local API server vs render mode, {args.runs} runs, {mode()}")
    print(
        f"  first up of the local stack (namespace, 4 Deployments, ...): median "
        f"{statistics.median(firsts):.1f} s"
    )
    print(f"  {'step':<18} {'live API server':>16} {'render mode':>12} {'ratio':>6}")
    for label, _ in STEPS:
        on_cluster, rendered = statistics.median(live[label]), statistics.median(render[label])
        print(
            f"  {label:<18} {on_cluster:>14.1f} s {rendered:>10.1f} s {on_cluster / rendered:>6.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
