"""A real Prometheus holding crafted engine metrics, for the canary analysis's live tests.

Each scenario is a namespace with a stable and a canary track serving constant traffic: request
counters by status code, latency histogram buckets, accuracy-check failures. The series are
written as OpenMetrics text (samples every 15 s over the 20 minutes up to `end`, a multiple
of 15 s just before now, and on for AHEAD_SECONDS past it), turned into TSDB blocks by
`promtool tsdb create-blocks-from openmetrics`, and served by `prometheus` on loopback with no
scrape targets. Queries evaluated at `end` are then deterministic; a query at Prometheus's own
now (as `pulumi up`'s analysis asks) finds the same constant traffic in its window for
AHEAD_SECONDS, however slow the engine tests around it (a range never reaches past its time).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from harness.engine import go_runtime
from harness.live.net import LOOPBACK, free_port, wait_until
from involution.config.monitoring import MonitoringSettings

STEP_SECONDS = 15
SPAN_SECONDS = 20 * 60
AHEAD_SECONDS = 30 * 60
BUCKETS = (0.025, 0.05, 0.075, 0.1, 0.2, 0.3, 0.5, 1.0)
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
CONFIG = "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\n"

# Cumulative share of requests at or under each upper bound (seconds); 1.0 from the last on.
Latency = Mapping[float, float]


@dataclass(frozen=True)
class TrackLoad:
    """One track's constant traffic: requests per second, share of 5xx, latency shape."""

    rps: float
    error_percent: float
    latency: Latency
    accuracy_failures_per_minute: float = 0.0
    exports_accuracy: bool = True


@dataclass(frozen=True)
class Scenario:
    namespace: str
    canary: TrackLoad | None
    stable: TrackLoad | None


def _share(latency: Latency, le: float) -> float:
    return max((share for bound, share in latency.items() if bound <= le), default=0.0)


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _counter(
    name: str,
    labels: str,
    per_second: float,
    end: int,
    *,
    step: int,
    span: int,
) -> list[str]:
    """A counter growing `per_second` from 0 at end - span to end + AHEAD, one sample every
    `step` seconds."""
    return [
        f"{name}{labels} {per_second * elapsed:.6f} {end - span + elapsed}"
        for elapsed in range(0, span + AHEAD_SECONDS + 1, step)
    ]


def _tracks(scenarios: Sequence[Scenario]) -> Iterator[tuple[dict[str, str], TrackLoad]]:
    for s in scenarios:
        for track, load in (("stable", s.stable), ("canary", s.canary)):
            if load is not None:
                yield {"namespace": s.namespace, "track": track}, load


def openmetrics(
    scenarios: Sequence[Scenario],
    m: MonitoringSettings,
    end: int,
    step: int = STEP_SECONDS,
    span: int = SPAN_SECONDS,
) -> str:
    """The scenarios' series as OpenMetrics text: one family after another, then `# EOF`."""
    requests = m.requests_metric
    latency = m.latency_metric
    accuracy = m.accuracy_metric
    lines = [f"# TYPE {requests.removesuffix('_total')} counter"]
    for base, load in _tracks(scenarios):
        errors = load.rps * load.error_percent / 100
        for code, rate in (("200", load.rps - errors), ("500", errors)):
            if rate > 0:
                labels = _labels(**base, **{m.status_label: code})
                lines += _counter(requests, labels, rate, end, step=step, span=span)
    lines.append(f"# TYPE {latency} histogram")
    for base, load in _tracks(scenarios):
        for le in BUCKETS:
            labels = _labels(**base, le=f"{le:g}")
            lines += _counter(
                f"{latency}_bucket",
                labels,
                load.rps * _share(load.latency, le),
                end,
                step=step,
                span=span,
            )
        lines += _counter(
            f"{latency}_bucket", _labels(**base, le="+Inf"), load.rps, end, step=step, span=span
        )
        lines += _counter(f"{latency}_count", _labels(**base), load.rps, end, step=step, span=span)
        lines += _counter(
            f"{latency}_sum", _labels(**base), load.rps * 0.1, end, step=step, span=span
        )
    lines.append(f"# TYPE {accuracy.removesuffix('_total')} counter")
    for base, load in _tracks(scenarios):
        if load.exports_accuracy:
            per_second = load.accuracy_failures_per_minute / 60
            lines += _counter(accuracy, _labels(**base), per_second, end, step=step, span=span)
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class LivePrometheus:
    url: str
    end: datetime  # the last sample: evaluate queries here


def _ready(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"prometheus exited with {process.returncode} before it was ready")
    try:
        return httpx.get(f"{url}/-/ready", timeout=1.0).status_code == httpx.codes.OK
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def live_prometheus(
    prometheus: str,
    promtool: str,
    scenarios: Sequence[Scenario],
    m: MonitoringSettings,
    workdir: Path,
    *,
    port: int | None = None,
    step: int = STEP_SECONDS,
    span: int = SPAN_SECONDS,
) -> Iterator[LivePrometheus]:
    """Backfill the scenarios over `span` seconds back from now (a sample every `step`
    seconds: 1 for stints of seconds, as an engine test's rollback is), serve them on a free
    loopback port, stop on exit."""
    now = int(time.time())
    end = now - now % STEP_SECONDS
    metrics, data, config = workdir / "metrics.om", workdir / "data", workdir / "prometheus.yml"
    metrics.write_text(openmetrics(scenarios, m, end, step=step, span=span))
    config.write_text(CONFIG)
    backfill = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(metrics), str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if backfill.returncode != 0:
        raise RuntimeError(f"promtool backfill failed: {backfill.stdout}{backfill.stderr}")
    port = port or free_port()
    url = f"http://{LOOPBACK}:{port}"
    log = workdir / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                prometheus,
                f"--storage.tsdb.path={data}",
                f"--web.listen-address={LOOPBACK}:{port}",
                f"--config.file={config}",
                "--storage.tsdb.retention.time=1d",
            ],
            env=go_runtime.for_daemons(os.environ),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            wait_until(lambda: _ready(url, process), READY_TIMEOUT, f"prometheus at {url} ready")
        except (TimeoutError, RuntimeError) as e:
            raise RuntimeError(f"{e}\n{log.read_text()[-3000:]}") from e
        yield LivePrometheus(url, datetime.fromtimestamp(end, UTC))
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


# A canary the analysis advances: 20 rps beside a 180 rps stable, 0.05% errors, p95 < 200 ms.
HEALTHY_LATENCY: Latency = {0.05: 0.6, 0.1: 0.9, 0.2: 0.99, 0.3: 1.0}


def healthy_scenario(namespace: str) -> Scenario:
    """Both tracks of `namespace` healthy: the canary analysis says advance."""
    return Scenario(
        namespace,
        canary=TrackLoad(rps=20, error_percent=0.05, latency=HEALTHY_LATENCY),
        stable=TrackLoad(rps=180, error_percent=0.05, latency=HEALTHY_LATENCY),
    )
