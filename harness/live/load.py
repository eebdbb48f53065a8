"""Load clients: keep-alive GETs on threads, tallied by the track that answered."""

from __future__ import annotations

import contextlib
import functools
import itertools
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import ParamSpec, TypeVar

from harness.live.keepalive import KeepAliveClient
from harness.live.net import LOOPBACK, wait_until

P = ParamSpec("P")
R = TypeVar("R")


def untraced(function: Callable[P, R]) -> Callable[P, R]:
    """`function` run with no trace function in its thread, restored after.

    The clients are the instrument, not the code under test: under `make test`'s coverage
    tracer their GETs took 1.7x the CPU (tests/test_nginx_live.py: 74 s -> 131 s user), CPU the
    servers they measure and the tests beside them on two cores did not get.
    """

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        tracer = sys.gettrace()
        sys.settrace(None)
        try:
            return function(*args, **kwargs)
        finally:
            sys.settrace(tracer)

    return run


@dataclass
class Tally:
    """Outcomes of a batch of GETs, counted by the track header of 2xx answers."""

    ok: int = 0
    non_2xx: int = 0
    errors: int = 0
    retried: int = 0
    tracks: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.ok + self.non_2xx + self.errors

    @property
    def failed(self) -> int:
        return self.non_2xx + self.errors

    def share(self, track: str) -> float:
        """Percent of 2xx answers from `track`."""
        return 100.0 * self.tracks.get(track, 0) / self.ok if self.ok else 0.0

    def add(self, other: Tally) -> None:
        self.ok += other.ok
        self.non_2xx += other.non_2xx
        self.errors += other.errors
        self.retried += other.retried
        for track, count in other.tracks.items():
            self.tracks[track] = self.tracks.get(track, 0) + count
        self.samples.extend(other.samples[: max(0, 10 - len(self.samples))])

    def minus(self, earlier: Tally) -> Tally:
        """What happened between two snapshots."""
        return Tally(
            ok=self.ok - earlier.ok,
            non_2xx=self.non_2xx - earlier.non_2xx,
            errors=self.errors - earlier.errors,
            retried=self.retried - earlier.retried,
            tracks={t: n - earlier.tracks.get(t, 0) for t, n in self.tracks.items()},
        )

    def copy(self) -> Tally:
        copied = Tally()
        copied.add(self)
        return copied

    def describe(self) -> str:
        shares = ", ".join(f"{t} {self.share(t):.2f}%" for t in sorted(self.tracks))
        text = (
            f"{self.total} GETs: {self.ok} ok, {self.non_2xx} non-2xx, {self.errors} errors, "
            f"{self.retried} retried on a closed keep-alive connection; {shares}"
        )
        return text + (f"; first failures: {self.samples}" if self.samples else "")


class ClientPool:
    """Keep-alive clients on threads: a fixed number of GETs, or a load until stopped.

    With a `rate`, the load of `load()` is paced at that many GETs a second (spread over the
    connections) except while `wait_for` waits for a sample, which it takes at full speed: a
    steady background load whose every failure counts, without the clients and the servers
    behind them taking every core of the machine from what runs beside them.
    """

    def __init__(
        self,
        port: int,
        connections: int = 8,
        path: str = "/",
        key_header: str | None = None,
        host: str = LOOPBACK,
        *,
        rate: float | None = None,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate = {rate}: a positive number of GETs a second, or None")
        self.port = port
        self.path = path
        # Seconds between two GETs of one connection while paced (None: as fast as answered).
        self.interval = None if rate is None else connections / rate
        self.sampling = 0  # how many `wait_for` calls are waiting: full speed while > 0
        # With a key header, GET number n carries `<key_header>: client-<n>` (a sticky key);
        # the keys of `run(N)` from a fresh pool are client-0 .. client-(N-1).
        self.key_header = key_header
        self.keys = itertools.count()
        self.keys_lock = threading.Lock()
        self.clients = [KeepAliveClient(port, host=host) for _ in range(connections)]
        self.tallies = [Tally() for _ in self.clients]
        self.locks = [threading.Lock() for _ in self.clients]
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.budget: int | None = None
        self.budget_lock = threading.Lock()
        # time.monotonic() of the first failed GET since the pool was made (or `rearm`).
        self.first_failure: float | None = None

    def rearm(self) -> None:
        """Forget the first failure: the next one is timed afresh."""
        with self.budget_lock:
            self.first_failure = None

    def _failed(self) -> None:
        with self.budget_lock:
            if self.first_failure is None:
                self.first_failure = time.monotonic()

    def _take(self) -> bool:
        if self.stop_event.is_set():
            return False
        if self.budget is None:
            return True
        with self.budget_lock:
            if self.budget <= 0:
                return False
            self.budget -= 1
            return True

    def _pace(self, due: float) -> float:
        """Sleep until `due` unless a sample is being taken; the next GET's due time."""
        if self.interval is None or self.sampling > 0:
            return time.monotonic()
        now = time.monotonic()
        if due > now:
            self.stop_event.wait(due - now)
        # Never a burst to catch up on slots missed while a GET took long.
        return max(due, time.monotonic() - self.interval) + self.interval

    def _loop(self, index: int) -> None:
        client, tally, lock = self.clients[index], self.tallies[index], self.locks[index]
        # Connections start spread over one interval, not all at once.
        due = time.monotonic() + (self.interval or 0.0) * index / len(self.clients)
        while self._take():
            due = self._pace(due)
            if self.stop_event.is_set():
                break
            retried = client.retried
            try:
                status, track = client.get(self.path, self._headers())
            except Exception as error:  # any failure of a GET counts, whatever its kind
                client.close()
                self._failed()
                with lock:
                    tally.errors += 1
                    tally.retried += client.retried - retried
                    if len(tally.samples) < 10:
                        tally.samples.append(f"{type(error).__name__}: {error}")
                continue
            with lock:
                tally.retried += client.retried - retried
                if 200 <= status < 300:
                    tally.ok += 1
                    tally.tracks[track] = tally.tracks.get(track, 0) + 1
                else:
                    self._failed()
                    tally.non_2xx += 1
                    if len(tally.samples) < 10:
                        tally.samples.append(f"HTTP {status}")

    def _headers(self) -> dict[str, str]:
        if self.key_header is None:
            return {}
        with self.keys_lock:
            return {self.key_header: f"client-{next(self.keys)}"}

    def _launch(self, budget: int | None) -> None:
        self.budget = budget
        self.stop_event.clear()
        self.threads = [
            threading.Thread(target=untraced(self._loop), args=(i,), daemon=True)
            for i in range(len(self.clients))
        ]
        for thread in self.threads:
            thread.start()

    def _join(self) -> None:
        for thread in self.threads:
            thread.join()
        self.threads = []

    def snapshot(self) -> Tally:
        total = Tally()
        for tally, lock in zip(self.tallies, self.locks, strict=True):
            with lock:
                total.add(tally)
        return total

    def run(self, requests: int) -> Tally:
        """Exactly `requests` GETs spread over the connections; returns their tally only."""
        before = self.snapshot()
        self._launch(requests)
        self._join()
        return self.snapshot().minus(before)

    @contextlib.contextmanager
    def load(self) -> Iterator[ClientPool]:
        """Continuous GETs for the duration of the block."""
        self._launch(None)
        try:
            yield self
        finally:
            self.stop_event.set()
            self._join()

    def wait_for(self, requests: int, timeout: float = 30.0) -> Tally:
        """Block until `requests` more GETs completed; returns the tally of just those."""
        with self.budget_lock:
            self.sampling += 1
        try:
            start = self.snapshot()
            wait_until(lambda: self.snapshot().total - start.total >= requests, timeout, "load")
            return self.snapshot().minus(start)
        finally:
            with self.budget_lock:
                self.sampling -= 1

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def __enter__(self) -> ClientPool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_event.set()
        self._join()
        self.close()


@untraced
def latencies(
    port: int, requests: int, path: str = "/", key_header: str | None = None
) -> list[float]:
    """Seconds per GET, sequential on one keep-alive connection (after a short warm-up); with
    `key_header`, each GET carries a distinct sticky key."""
    client = KeepAliveClient(port)

    def headers(n: int) -> dict[str, str]:
        return {key_header: f"client-{n}"} if key_header else {}

    try:
        for n in range(min(200, requests)):
            client.get(path, headers(n))
        samples = []
        for n in range(requests):
            start = time.perf_counter()
            status, _ = client.get(path, headers(n))
            samples.append(time.perf_counter() - start)
            if status != 200:
                raise RuntimeError(f"HTTP {status} while timing port {port}")
        return samples
    finally:
        client.close()


def tracks_per_client(
    port: int,
    clients: list[str],
    header: str,
    repeats: int,
    *,
    connections: int = 4,
    extra: Mapping[str, str] | None = None,
) -> dict[str, list[str]]:
    """Each client's GETs (`repeats` each, carrying `<header>: <client>`), as the tracks that
    answered them in order; a failed GET is recorded as "error"."""
    seen: dict[str, list[str]] = {client: [] for client in clients}
    shares = [clients[i::connections] for i in range(connections)]

    def work(mine: list[str]) -> None:
        http = KeepAliveClient(port)
        try:
            for client in mine:
                for _ in range(repeats):
                    try:
                        status, track = http.get("/", {header: client, **(extra or {})})
                    except OSError:
                        http.close()
                        status, track = 0, ""
                    seen[client].append(track if 200 <= status < 300 else "error")
        finally:
            http.close()

    threads = [
        threading.Thread(target=untraced(work), args=(mine,), daemon=True) for mine in shares
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seen
