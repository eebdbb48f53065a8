"""Releases on the local cluster's real node: `pulumi up` of each phase change and of a
rollback, the time until the pods it started are Ready, the requests that failed meanwhile
under steady load through the router's Service, and the time from a bad canary's first
failed request to its rollback deployed by `involution watch`; beside the same steps on the
dev stack in render mode.

    python -m benchmarks.cluster [--runs 3]     # BENCH_QUICK=1: one run

Each run walks none -> 10 -> 50 -> 100 -> rollback -> none (closed) on the `local` stack in a
namespace of its own (staging's rules, soaks 0s, the canary analysis asking the cluster's
Prometheus: each step forward waits, untimed, until it says advance), and the same steps on
the `dev` stack of the project copy; then, on a fresh stack, a canary failing 5% of requests
under `involution watch --interval 5s`. Medians per step; figures only, no assertions. Needs
the cluster with its node (`make cluster`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.quick import full_or_quick, mode
from cli.interrupts import let_children_hear_sigint
from harness.cluster.local import LocalCluster, local_cluster
from harness.cluster.pods import STACK, PodsRelease, watched_rollback
from harness.cluster.stand_ins import CANARY_VERSION, ERRORS_VERSION
from harness.engine.project import EngineProject, make_project
from harness.scenarios import TEST_REDIS_PASSWORD
from harness.tooling import ToolMissing

NAMESPACE = "involution-bench"
WATCH_NAMESPACE = "involution-bench-watch"
FORWARD = {"10 -> 50", "50 -> 100"}
# (label, config changes): one `pulumi up` each.
STEPS: tuple[tuple[str, dict[str, str | None]], ...] = (
    ("none -> 10", {"canaryVersion": CANARY_VERSION, "canaryPhase": "10"}),
    ("10 -> 50", {"canaryPhase": "50"}),
    ("50 -> 100", {"canaryPhase": "100"}),
    ("100 -> rollback", {"canaryPhase": "rollback"}),
    ("rollback -> none", {"canaryVersion": None, "canaryPhase": "none"}),
)


@dataclass
class Figures:
    """Every run's numbers, by step."""

    up: dict[str, list[float]] = field(default_factory=dict)
    ready: dict[str, list[float]] = field(default_factory=dict)
    failed: dict[str, list[int]] = field(default_factory=dict)
    requests: dict[str, list[int]] = field(default_factory=dict)
    render: dict[str, list[float]] = field(default_factory=dict)
    first_up: list[float] = field(default_factory=list)
    fault_to_rollback: list[float] = field(default_factory=list)
    live_to_rollback: list[float] = field(default_factory=list)
    bad_requests: list[int] = field(default_factory=list)


def stack_in(cluster: LocalCluster, base: Path, namespace: str) -> EngineProject:
    project = make_project(base, extra_env={"KUBECONFIG": str(cluster.kubeconfig)})
    project.init_stack(STACK, {"namespace": namespace})
    project.set(STACK, "redisPassword", TEST_REDIS_PASSWORD, secret=True)
    project.set(STACK, "monitoring.prometheusUrl", cluster.prometheus_url, path=True)
    for phase in ("10", "50", "100"):
        project.set(STACK, f"soak.{phase}", "0s", path=True)
    return project


@contextmanager
def destroyed_after(release: PodsRelease) -> Iterator[PodsRelease]:
    try:
        yield release
    finally:
        release.project.pulumi("destroy", "--yes", "--skip-preview", "--stack", STACK, check=False)
        release.cluster.kubectl("delete", "namespace", release.namespace, check=False)
        release.cluster.wait_gone("namespace", release.namespace, timeout=180)


def walk(cluster: LocalCluster, base: Path, figures: Figures) -> None:
    project = stack_in(cluster, base / "walk", NAMESPACE)
    with destroyed_after(PodsRelease(cluster, project, NAMESPACE)) as release:
        figures.first_up.append(release.up("first up").seconds)
        with release.load():
            release.measure(200)
            for label, changes in STEPS:
                if label in FORWARD:
                    release.wait_for_advance()
                step = release.up(label, changes)
                figures.up.setdefault(label, []).append(step.seconds)
                if step.ready_seconds is not None:
                    figures.ready.setdefault(label, []).append(step.ready_seconds)
                figures.failed.setdefault(label, []).append(step.during.failed)
                figures.requests.setdefault(label, []).append(step.during.total)
    project.init_stack("dev")
    for phase in ("10", "50", "100"):
        project.set("dev", f"soak.{phase}", "0s", path=True)
    project.up("dev")
    for label, changes in STEPS:
        project.configure("dev", changes)
        started = time.perf_counter()
        project.up("dev")
        figures.render.setdefault(label, []).append(time.perf_counter() - started)


def fault(cluster: LocalCluster, base: Path, figures: Figures) -> None:
    project = stack_in(cluster, base / "watch", WATCH_NAMESPACE)
    with destroyed_after(PodsRelease(cluster, project, WATCH_NAMESPACE)) as release:
        release.up("first up")
        with release.load():
            release.measure(200)
            watched = watched_rollback(release, ERRORS_VERSION)
        if watched.watch_exit != 0 or watched.first_bad_to_rollback_seconds is None:
            print(f"watch did not roll back: {watched.watch_output}", file=sys.stderr)
            return
        figures.fault_to_rollback.append(watched.first_bad_to_rollback_seconds)
        figures.live_to_rollback.append(watched.live_to_rollback_seconds)
        figures.bad_requests.append(watched.while_bad.failed)


def median(values: list[float] | list[int]) -> str:
    return f"{statistics.median(values):.1f}" if values else "-"


def show(figures: Figures, runs: int) -> None:
    print(f"releases on the local cluster's real node, {runs} runs, {mode()}")
    first = median(figures.first_up)
    print(f"  first up of the local stack (namespace, 5 Deployments, ...): {first} s")
    print(
        f"  {'step':<18} {'pulumi up':>10} {'pods Ready':>11} {'failed':>7} {'requests':>9} "
        f"{'render mode':>12}"
    )
    for label, _ in STEPS:
        print(
            f"  {label:<18} {median(figures.up[label]):>8} s "
            f"{median(figures.ready.get(label, [])):>9} s {max(figures.failed[label]):>7} "
            f"{median(figures.requests[label]):>9} {median(figures.render[label]):>10} s"
        )
    print(
        "  (pulumi up, pods Ready after the up began, requests during the up: medians; failed: "
        "the most in any run)"
    )
    print(
        f"  bad canary ({ERRORS_VERSION}, 5% errors) at 10% under `involution watch --interval "
        f"5s`: first bad request -> rollback deployed {median(figures.fault_to_rollback)} s, "
        f"canary live -> rollback deployed {median(figures.live_to_rollback)} s, "
        f"{median(figures.bad_requests)} failed requests (release process: 300 s)"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=full_or_quick(3, 1))
    args = parser.parse_args()
    let_children_hear_sigint()  # as a background job, each `pulumi` waited 5 s more
    figures = Figures()
    try:
        cluster = local_cluster(start=False)
        if not cluster.node_ready():
            raise ToolMissing("the local cluster runs without its real node: `make cluster`")
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                walk(cluster, Path(folder), figures)
                fault(cluster, Path(folder), figures)
    except ToolMissing as absent:
        print(absent, file=sys.stderr)
        return 2
    show(figures, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
