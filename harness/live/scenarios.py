"""Router scenarios the live tests assert on and the split benchmark measures: phase
switches by reload under load, and a canary lost and brought back."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from harness.live.backends import Backend
from harness.live.load import ClientPool, Tally
from harness.live.net import http_get, wait_until
from harness.live.nginx import Nginx, NginxError


def served_phase(nginx: Nginx) -> str:
    """The phase the live config exposes on /metrics (proves which nginx.conf is loaded)."""
    status, body = http_get(nginx.ports.status, "/metrics")
    match = re.search(r'involution_canary_phase\{phase="([^"]+)"\}', body)
    if status != 200 or match is None:
        raise NginxError(f"/metrics answered {status}: {body[:200]!r}")
    return match[1]


def spread_over_workers(pool: ClientPool, nginx: Nginx, attempts: int = 50) -> dict[int, int]:
    """Reconnect clients until two workers hold client connections (when there are two), so
    a split measured next goes through several workers sharing the upstream zone."""
    wanted = min(2, len(nginx.workers()))
    counts: dict[int, int] = {}
    for _ in range(attempts):
        for client in pool.clients:
            client.get("/healthz")
        counts = nginx.client_connections()
        if sum(1 for held in counts.values() if held) >= wanted:
            return counts
        for client in pool.clients[::2]:
            client.close()
    raise NginxError(f"client connections stayed on one worker: {counts}")


@dataclass
class ReloadRun:
    """Phase switches under load: what the clients saw, per switch and overall."""

    tally: Tally  # every GET from before the first switch to after the last
    phases: list[str]  # the phase each switch loaded
    served: list[str]  # the phase /metrics reported after each switch
    windows: list[Tally]  # the GETs right after each switch (old workers gone)
    reload_seconds: list[float]


def reloads_under_load(
    nginx: Nginx, pool: ClientPool, confs: dict[str, str], phases: Sequence[str], window: int
) -> ReloadRun:
    """Switch through `phases` by rewriting nginx.conf and reloading, under continuous GETs;
    after each switch, tally the next `window` GETs."""
    run = ReloadRun(Tally(), list(phases), [], [], [])
    with pool.load():
        before = pool.snapshot()
        pool.wait_for(window)
        for phase in phases:
            run.reload_seconds.append(nginx.reload(confs[phase]))
            run.served.append(served_phase(nginx))
            run.windows.append(pool.wait_for(window))
        run.tally = pool.snapshot().minus(before)
    run.tally.samples = pool.snapshot().samples
    return run


@dataclass
class CanaryLoss:
    """The canary killed under load and brought back on the same port."""

    tally: Tally  # every GET from the kill to the end of the recovery window
    outage: Tally  # the GETs while the canary process was dead
    recovery_seconds: float  # from the restart to the first canary answer through nginx
    after_recovery: Tally


def canary_loss_under_load(
    pool: ClientPool,
    canary: Backend,
    outage_seconds: float,
    window: int,
    timeout: float,
    *,
    outage_requests: int = 0,
) -> CanaryLoss:
    """SIGKILL the canary mid-load, restart it on its port after `outage_seconds` and at least
    `outage_requests` GETs (a busy machine answers fewer a second: a cold CI's run once saw
    992 in the second), wait until it answers through nginx again, then tally `window` GETs
    once its weight has ramped up."""
    with pool.load():
        pool.wait_for(500)
        before = pool.snapshot()
        canary.kill()
        killed = time.monotonic()
        if outage_requests:
            pool.wait_for(outage_requests, timeout=timeout)
        time.sleep(max(0.0, outage_seconds - (time.monotonic() - killed)))
        outage = pool.snapshot().minus(before)
        canary.start()
        restarted = time.monotonic()
        since_restart = pool.snapshot()

        # The running load's own answers, not a sample at full speed: a paced pool keeps its
        # pace while nginx waits out the dead server's fail_timeout.
        def canary_answers() -> bool:
            return pool.snapshot().minus(since_restart).tracks.get(canary.track, 0) > 0

        wait_until(canary_answers, timeout, "canary answering through nginx again")
        recovered = time.monotonic() - restarted
        # nginx ramps a recovered server's effective weight back up over ~weight picks.
        pool.wait_for(500)
        after = pool.wait_for(window)
        tally = pool.snapshot().minus(before)
    tally.samples = pool.snapshot().samples
    return CanaryLoss(tally, outage, recovered, after)
