"""Scenarios of the router's traffic controls that tests/test_traffic_live.py asserts on and
benchmarks/traffic.py measures: a header pinning a track, sticky clients across phases, and
the shadow phase's mirrored copies."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from harness.live.backends import Backend
from harness.live.load import ClientPool, Tally, tracks_per_client
from harness.live.net import wait_until


def pinned(port: int, header: str, value: str, requests: int, connections: int = 4) -> Tally:
    """`requests` GETs carrying `<header>: <value>`, tallied by the track that answered."""
    seen = tracks_per_client(
        port,
        [f"pin-{i}" for i in range(requests)],
        "X-Pin-Client",
        1,
        connections=connections,
        extra={header: value},
    )
    tally = Tally()
    for tracks in seen.values():
        for track in tracks:
            if track == "error":
                tally.errors += 1
            else:
                tally.ok += 1
                tally.tracks[track] = tally.tracks.get(track, 0) + 1
    return tally


@dataclass(frozen=True)
class StickyRun:
    """Each client's tracks over its repeated GETs in one phase."""

    seen: dict[str, list[str]]

    @property
    def mixed(self) -> list[str]:
        """Clients that met more than one track (or a failure) within the phase."""
        return [c for c, tracks in self.seen.items() if len(set(tracks)) != 1]

    def on(self, track: str) -> set[str]:
        return {c for c, tracks in self.seen.items() if set(tracks) == {track}}

    def share(self, track: str) -> float:
        """Percent of clients that stayed on `track`."""
        return 100.0 * len(self.on(track)) / len(self.seen) if self.seen else 0.0


def sticky_clients(port: int, header: str, clients: int, repeats: int) -> StickyRun:
    names = [f"client-{i:05d}" for i in range(clients)]
    return StickyRun(tracks_per_client(port, names, header, repeats))


@dataclass(frozen=True)
class ShadowRun:
    """What the clients got at `shadow`, and what each stand-in engine received."""

    answers: Tally
    stable_served: int
    canary_served: int
    canary_mirrored: int


def shadow_copies(
    pool: ClientPool,
    stable: Backend,
    canary: Backend,
    requests: int,
    *,
    expected_percent: int = 100,
    settle_seconds: float = 10.0,
) -> ShadowRun:
    """`requests` GETs through the router at shadow; waits for the copies in flight (nginx
    sends a copy alongside, not before, the answer) until the canary has the share expected."""
    stable_before, canary_before = stable.counts(), canary.counts()
    answers = pool.run(requests)
    wanted = requests * expected_percent // 100
    last = [-1]

    def settled() -> bool:
        """All expected copies arrived, or the count stopped moving for 0.3 s."""
        mirrored = canary.counts()["mirrored"] - canary_before["mirrored"]
        if mirrored >= wanted:
            return True
        moved, last[0] = mirrored != last[0], mirrored
        if not moved:
            return True
        time.sleep(0.3)
        return False

    with contextlib.suppress(TimeoutError):  # the counts below say how many arrived
        wait_until(settled, settle_seconds, "mirrored copies at the canary")
    stable_after, canary_after = stable.counts(), canary.counts()
    return ShadowRun(
        answers=answers,
        stable_served=stable_after["served"] - stable_before["served"],
        canary_served=canary_after["served"] - canary_before["served"],
        canary_mirrored=canary_after["mirrored"] - canary_before["mirrored"],
    )
