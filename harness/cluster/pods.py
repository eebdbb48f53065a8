"""A release of the `local` stack on the local cluster's real node, under load through the
router's Service: what the `pods` tests and `benchmarks.cluster` share.

The load is the keep-alive client of harness.live.load aimed at the router Service's ClusterIP
(kube-proxy's rules reach it from this machine as from a pod); the canary analysis asks the
cluster's Prometheus, which scrapes the pods; every step is a config change and a timed
`pulumi up` of a project copy.
"""

from __future__ import annotations

import contextlib
import http.client
import math
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harness.cluster.local import LocalCluster
from harness.cluster.stand_ins import VERSION_HEADER
from harness.engine.project import EngineProject
from harness.live.load import ClientPool, Tally
from involution.analysis.canary import Analysis, analyse
from involution.config.monitoring import MonitoringSettings
from involution.names import NAME_LABEL, ROUTER_NAME
from involution.nginx.conf import TRACK_HEADER
from involution.prometheus import PrometheusClient, PrometheusError

STACK = "local"
# A measured canary share within this many points of the weight.
SHARE_TOLERANCE_POINTS = 1.0
# The split is exact, not statistical: each router pod runs nginx's smooth weighted round robin
# over one upstream zone its workers share, and N consecutive picks of that sequence give each
# track its weight's share to within one pick (tests/test_nginx_live.py measures it on a real
# nginx). A sample through the Service is spread over the router pods, so its share is off the
# weight by at most one pick per router: `routers / n`. SHARE_MARGIN times inside the tolerance
# at the local stack's two routers is 2,000 GETs, 0.1 points at most, whatever the weight (the
# binomial size, as if each GET picked its track at random, was 27,069 at 50%: 68 s of load
# at LOAD_RATE, on the chain of releases the whole CI run waits for). A real miss is a routing
# fault.
SHARE_MARGIN = 10
SHARE_MINIMUM_SAMPLE = 2000
LOAD_CONNECTIONS = 4
# GETs a second of the background load (a GET every 10 ms on each connection); the shares are
# sampled at full speed (harness.live.load.ClientPool). Unpaced, the clients and the pods answering
# them took both cores of a 2-core machine for the whole of the pods layer, slowing the
# rollouts under test and every test beside them.
LOAD_RATE = 400.0
ADVANCE_TIMEOUT = 300.0
# Polls 5 s apart that must say advance before a step forward (harness: wait_for_advance).
ADVANCES_IN_A_ROW = 2
# The engine's terminationGracePeriodSeconds (30) and some.
SETTLE_TIMEOUT = 90.0


def share_sample_size(routers: int) -> int:
    """GETs to measure a canary share within the tolerance through `routers` router pods:
    SHARE_MARGIN * routers / tolerance (see SHARE_MARGIN), at least the minimum."""
    if routers < 1:
        raise ValueError(f"routers: {routers}; at least one router pod serves the split")
    bound = SHARE_MARGIN * routers * 100.0 / SHARE_TOLERANCE_POINTS
    return max(SHARE_MINIMUM_SAMPLE, math.ceil(bound))


@dataclass(frozen=True)
class Step:
    """One `pulumi up` under load: how long it took, what the load saw meanwhile, and how long
    until every pod it started was Ready (None when it started none)."""

    label: str
    seconds: float
    during: Tally
    ready_seconds: float | None


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class PodsRelease:
    """The `local` stack of a project copy in its own namespace of the local cluster."""

    def __init__(self, cluster: LocalCluster, project: EngineProject, namespace: str) -> None:
        self.cluster = cluster
        self.project = project
        self.namespace = namespace
        self.pool: ClientPool | None = None

    # ------------------------------------------------------------ stack ----
    def configure(self, changes: Mapping[str, str | None]) -> None:
        self.project.configure(STACK, changes)

    def up(self, label: str, changes: Mapping[str, str | None] | None = None) -> Step:
        """Config change, `pulumi up`, timed; the load's tally of the up's duration."""
        self.configure(changes or {})
        before = self.pool.snapshot() if self.pool else Tally()
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        self.project.up(STACK)
        seconds = time.perf_counter() - started
        during = self.pool.snapshot().minus(before) if self.pool else Tally()
        return Step(label, seconds, during, self.ready_after(started_at))

    def outputs(self) -> dict[str, Any]:
        return self.project.outputs(STACK)

    def ready_after(self, started_at: datetime) -> float | None:
        """Seconds from `started_at` until the last pod created since was Ready (the API's
        timestamps have whole seconds)."""
        pods = self.cluster.get("pods", "-n", self.namespace)["items"]
        started = started_at.replace(microsecond=0)
        ready: list[datetime] = []
        for pod in pods:
            if _parse_time(pod["metadata"]["creationTimestamp"]) < started:
                continue
            conditions = pod["status"].get("conditions", [])
            times = [
                _parse_time(c["lastTransitionTime"])
                for c in conditions
                if c["type"] == "Ready" and c["status"] == "True"
            ]
            if not times:
                raise AssertionError(f"pod {pod['metadata']['name']} is not Ready: {conditions}")
            ready.append(times[0])
        return (max(ready) - started).total_seconds() if ready else None

    def wait_settled(self, timeout: float = SETTLE_TIMEOUT) -> float:
        """Seconds until no pod of the namespace is terminating. `pulumi up` returns once the
        new pods are available; the old ones still answer their open keep-alive connections
        through their preStop sleep and graceful stop, so a share measured before they are gone
        mixes two phases."""
        started = time.monotonic()
        while True:
            pods = self.cluster.get("pods", "-n", self.namespace)["items"]
            leaving = [
                p["metadata"]["name"] for p in pods if p["metadata"].get("deletionTimestamp")
            ]
            if not leaving:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise AssertionError(f"pods still terminating after {timeout:.0f}s: {leaving}")
            time.sleep(1)

    def routers(self) -> int:
        """Router pods of the namespace that serve (not leaving): the split's sequences."""
        pods = self.cluster.get("pods", "-n", self.namespace, "-l", f"{NAME_LABEL}={ROUTER_NAME}")
        return sum(1 for pod in pods["items"] if not pod["metadata"].get("deletionTimestamp"))

    def share_sample(self) -> int:
        """GETs for a share within the tolerance through the routers serving now."""
        return share_sample_size(self.routers())

    # ------------------------------------------------------------- load ----
    def router(self) -> tuple[str, int]:
        return self.cluster.service_port(self.namespace, ROUTER_NAME, "http")

    @contextlib.contextmanager
    def load(
        self, connections: int = LOAD_CONNECTIONS, rate: float | None = LOAD_RATE
    ) -> Iterator[ClientPool]:
        """Steady GETs through the router's Service for the length of the block, `rate` a
        second (None: as fast as they are answered)."""
        host, port = self.router()
        pool = ClientPool(port, connections=connections, host=host, rate=rate)
        with pool, pool.load():
            self.pool = pool
            try:
                yield pool
            finally:
                self.pool = None

    def measure(self, requests: int) -> Tally:
        """The next `requests` GETs of the running load."""
        assert self.pool is not None, "measure() needs load()"
        return self.pool.wait_for(requests, timeout=600)

    def answer(self, path: str = "/") -> tuple[int, str, str]:
        """One GET through the router: (status, track, version)."""
        host, port = self.router()
        connection = http.client.HTTPConnection(host, port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            return (
                response.status,
                response.getheader(TRACK_HEADER, ""),
                response.getheader(VERSION_HEADER, ""),
            )
        finally:
            connection.close()

    # --------------------------------------------------------- analysis ----
    def analysis(self) -> Analysis:
        return analyse(
            PrometheusClient(self.cluster.prometheus_url), MonitoringSettings(), self.namespace
        )

    def scraped(self, timeout: float = 90.0, expected: int = 4) -> list[Mapping[str, str]]:
        """The labels of the namespace's scrape targets Prometheus has up, once there are
        `expected` of them (the ServiceMonitors' pods), within `timeout`."""
        client = PrometheusClient(self.cluster.prometheus_url)
        started = time.monotonic()
        while True:
            up = [s.labels for s in client.query(f'up{{namespace="{self.namespace}"}} == 1')]
            if len(up) >= expected or time.monotonic() - started > timeout:
                return up
            time.sleep(2)

    def wait_for_advance(self, timeout: float = ADVANCE_TIMEOUT) -> tuple[Analysis, float]:
        """Poll the canary analysis (as `pulumi up` will ask it) until it says advance twice in
        a row; the analysis and the seconds it took. AssertionError with its last reason
        otherwise. Once is not enough: a count just over a sample-size floor is an
        extrapolated increase(), and the program's own ask moments later saw 2,985 canary
        requests where 2,995 were needed (hold, and the step refused)."""
        started = time.monotonic()
        last: Analysis | str = "not asked yet"
        in_a_row = 0
        while time.monotonic() - started < timeout:
            try:
                last = self.analysis()
            except PrometheusError as error:
                last = str(error)
            if isinstance(last, Analysis) and last.decision == "rollback":
                raise AssertionError(f"the analysis says rollback: {last.reason}")
            advanced = isinstance(last, Analysis) and last.decision == "advance"
            in_a_row = in_a_row + 1 if advanced else 0
            if isinstance(last, Analysis) and in_a_row >= ADVANCES_IN_A_ROW:
                return last, time.monotonic() - started
            time.sleep(5)
        reason = last.reason if isinstance(last, Analysis) else last
        raise AssertionError(f"no advance after {timeout:.0f}s: {reason}")


@dataclass(frozen=True)
class WatchedRollback:
    """A faulty canary started under load and rolled back by `involution watch` by itself."""

    canary_up: Step
    watch_exit: int
    watch_output: str
    first_bad_to_rollback_seconds: float | None  # None: the canary failed no request
    live_to_rollback_seconds: float  # from the canary's up returning
    while_bad: Tally  # the load from the canary's up to the rollback deployed


def watched_rollback(
    release: PodsRelease, version: str, interval: str = "5s", timeout: float = 600.0
) -> WatchedRollback:
    """Under the running load: start `version` at 10%, then run `involution watch` on the stack
    until it exits (it does once it rolled back). The first bad request is the load's first
    failed GET after the canary's up began; the rollback is deployed when watch's `pulumi up`
    returned, i.e. when watch exits."""
    assert release.pool is not None, "watched_rollback() needs load()"
    pool = release.pool
    pool.rearm()
    before = pool.snapshot()
    up = release.up("none -> 10", {"canaryVersion": version, "canaryPhase": "10"})
    live = time.monotonic()
    command, env = release.project.involution_command(
        "watch", "--stack", STACK, "--interval", interval
    )
    watch = subprocess.Popen(
        command,
        cwd=release.project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = watch.communicate(timeout=timeout)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.communicate()
    done = time.monotonic()
    first_bad = pool.first_failure
    return WatchedRollback(
        canary_up=up,
        watch_exit=watch.returncode,
        watch_output=output,
        first_bad_to_rollback_seconds=None if first_bad is None else done - first_bad,
        live_to_rollback_seconds=done - live,
        while_bad=pool.snapshot().minus(before),
    )
