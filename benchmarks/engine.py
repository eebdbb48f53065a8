"""Time the real engine on the production config in render mode: `pulumi preview` and a
no-op `pulumi up` (medians of 5), against `pulumi version` as the CLI's own start-up cost.

    python -m benchmarks.engine [--runs 5]

Runs on a copy of the project with its own file backend and passphrase (tests/engine.py).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import TEST_ALERTING, TEST_REDIS_PASSWORD
from tests.engine import EngineProject, make_project


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
    project.set("production", "redisPassword", TEST_REDIS_PASSWORD, secret=True)
    for key, value in TEST_ALERTING.items():
        secret = key in {"slackWebhookUrl", "pagerdutyRoutingKey"}
        project.set("production", f"alerting.{key}", value, secret=secret, path=True)
    return project


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as folder:
        project = production_in_render_mode(Path(folder))
        first_up, _ = timed(lambda: project.up("production"), 1)
        version, _ = timed(lambda: project.pulumi("version"), runs)
        preview, preview_samples = timed(
            lambda: project.pulumi("preview", "--stack", "production"), runs
        )
        noop_up, up_samples = timed(lambda: project.up("production"), runs)
        resources = len(project.rendered("rendered/production"))
    print(f"real engine, production stack in render mode ({resources} manifests), {runs} runs")
    print(f"  first up (creates)   {first_up:6.2f} s")
    shown = [round(s, 2) for s in preview_samples]
    print(f"  preview median       {preview:6.2f} s   samples {shown}")
    print(f"  no-op up median      {noop_up:6.2f} s   samples {[round(s, 2) for s in up_samples]}")
    print(f"  `pulumi version`     {version:6.2f} s   (CLI start-up baseline)")
    print(f"  preview / baseline   {preview / version:6.1f} x")


if __name__ == "__main__":
    main()
