"""Real nginx in front of stand-in engines, for the live router tests and the split benchmark.

The backends run in their own processes (`python -m tests.live_nginx backend TRACK PORT`) so
the Python load generator does not share a GIL with them, and a canary can be SIGKILLed like a
crashed pod. nginx runs in the foreground as the router pod runs it (`-g 'daemon off;'`), on the
program's own nginx.conf with only hosts, ports and temp paths rewritten (`localize`).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import NoReturn

from involution.names import (
    CANARY_SERVICE,
    ENGINE_PORT,
    ROUTER_PORT,
    ROUTER_STATUS_PORT,
    STABLE_SERVICE,
)
from involution.nginx_conf import (
    TRACK_HEADER,
    RouterSpec,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
# The temp_root the program renders with (the dataclass default): rewritten per nginx.
DEFAULT_TEMP_ROOT: str = RouterSpec.temp_root


# --- plumbing ------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port free right now (the kernel picks it; a race is possible but rare)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached within {timeout:.1f}s")
        time.sleep(0.01)


# --- stand-in engines ---------------------------------------------------------------------


class _EngineProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1 keep-alive server: every request gets the same 200 naming the track."""

    MAX_HEAD = 64 * 1024

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > self.MAX_HEAD:
                    self.transport.close()
                return
            lines = bytes(self.buffer[:end]).split(b"\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip().lower()
            length = int(headers.get(b"content-length", b"0") or b"0")
            if len(self.buffer) < end + 4 + length:
                return  # wait for the body, which is discarded
            del self.buffer[: end + 4 + length]
            http10 = lines[0].endswith(b"HTTP/1.0")
            connection = headers.get(b"connection", b"")
            close = connection == b"close" or (http10 and connection != b"keep-alive")
            self.transport.write(self.response)
            if close:
                self.transport.close()
                return


def engine_response(track: str) -> bytes:
    body = f"involution engine, track={track}\n".encode()
    head = (
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"{TRACK_HEADER}: {track}\r\n"
        "\r\n"
    )
    return head.encode() + body


def serve_engine(track: str, port: int) -> None:
    """Backend process main: prints `READY <port>` once listening, then serves forever."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        response = engine_response(track)
        server = await loop.create_server(
            lambda: _EngineProtocol(response), LOOPBACK, port, reuse_address=True, backlog=1024
        )
        bound = server.sockets[0].getsockname()[1]
        print(f"READY {bound}", flush=True)
        await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


class Backend:
    """One stand-in engine process; `kill` is a SIGKILL, `start` again reuses the same port."""

    def __init__(self, track: str, port: int = 0) -> None:
        self.track = track
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        command = [sys.executable, "-m", "tests.live_nginx", "backend", self.track, str(self.port)]
        process = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=subprocess.PIPE)
        self.process = process
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline().decode() if ready else ""
        if not line.startswith("READY "):
            self.kill()
            raise RuntimeError(f"{self.track} backend did not start (port {self.port}): {line!r}")
        self.port = int(line.split()[1])

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """As a crashed pod: no FIN for in-flight requests, refused connections after."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def __enter__(self) -> Backend:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill()


@contextlib.contextmanager
def engine_backends() -> Iterator[tuple[Backend, Backend]]:
    """The stable and canary stand-ins, each on a free loopback port."""
    with Backend("stable") as stable, Backend("canary") as canary:
        yield stable, canary


# --- nginx --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouterPorts:
    """Where the local router and its upstreams listen (the cluster uses 8080/9113/8080)."""

    stable: int
    canary: int
    listen: int
    status: int

    @classmethod
    def around(cls, stable: Backend, canary: Backend) -> RouterPorts:
        return cls(stable.port, canary.port, free_port(), free_port())


_TEMP_DIRECTIVES = re.compile(r"pid|[a-z_]+_temp_path")
_LINE = re.compile(r"^(?P<indent>\s*)(?P<directive>[a-z_]+)\s+(?P<first>[^\s;]+)(?P<rest>.*)$")


def localize(conf: str, ports: RouterPorts, temp_root: Path) -> str:
    """The program's nginx.conf with only upstream hosts, listen ports and temp paths changed.

    Every other byte stays as rendered, so the live tests exercise what the cluster gets; a
    new listen or upstream the rewrite does not know fails here instead of being untested.
    """
    upstreams = {
        f"{STABLE_SERVICE}:{ENGINE_PORT}": f"{LOOPBACK}:{ports.stable}",
        f"{CANARY_SERVICE}:{ENGINE_PORT}": f"{LOOPBACK}:{ports.canary}",
    }
    listens = {
        str(ROUTER_PORT): f"{LOOPBACK}:{ports.listen}",
        str(ROUTER_STATUS_PORT): f"{LOOPBACK}:{ports.status}",
    }
    out: list[str] = []
    listened: list[str] = []
    for line in conf.splitlines(keepends=True):
        body = line.rstrip("\n")
        match = _LINE.match(body)
        if match is None:
            out.append(line)
            continue
        directive, first = match["directive"], match["first"]
        new = first
        if directive == "server" and first in upstreams:
            new = upstreams[first]
        elif directive == "listen":
            if first not in listens:
                raise ValueError(f"nginx.conf listens on {first!r}: unknown to localize()")
            new = listens[first]
            listened.append(first)
        elif _TEMP_DIRECTIVES.fullmatch(directive) and first.startswith(DEFAULT_TEMP_ROOT + "/"):
            new = str(temp_root) + first[len(DEFAULT_TEMP_ROOT) :]
        elif f" {DEFAULT_TEMP_ROOT}/" in body:
            raise ValueError(f"a path under {DEFAULT_TEMP_ROOT} localize() does not know: {body}")
        out.append(f"{match['indent']}{directive} {new}{match['rest']}" + line[len(body) :])
    text = "".join(out)
    for host in (STABLE_SERVICE, CANARY_SERVICE):
        if host in text:
            raise ValueError(f"{host} is still in the localized nginx.conf")
    if sorted(listened) != sorted(listens):
        raise ValueError(f"expected one listen each on {sorted(listens)}, got {listened}")
    return text


class NginxError(RuntimeError):
    """nginx refused a config or did not come up; carries its own words."""


class Nginx:
    """One nginx master in a private prefix, in the foreground like the router container."""

    def __init__(self, binary: str, ports: RouterPorts) -> None:
        self.binary = binary
        self.ports = ports
        self.workdir = Path(tempfile.mkdtemp(prefix="involution-nginx-"))
        # Workers run as nobody when the master is root: let them reach the temp folders.
        self.workdir.chmod(0o755)
        self.conf_path = self.workdir / "nginx.conf"
        self.access_log = self.workdir / "access.log"
        self.error_log = self.workdir / "error.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _base(self, conf: Path) -> list[str]:
        # -e: nginx's own log before the config is read (else /var/log/nginx/error.log).
        return [self.binary, "-p", f"{self.workdir}/", "-e", "stderr", "-c", str(conf)]

    def localize(self, conf: str) -> str:
        return localize(conf, self.ports, self.workdir)

    def test(self, conf: str) -> str:
        """`nginx -t` on the localized text; returns nginx's output, raises if rejected."""
        candidate = self.workdir / "candidate.conf"
        candidate.write_text(self.localize(conf))
        result = subprocess.run(
            [*self._base(candidate), "-t"], capture_output=True, text=True, check=False
        )
        output = result.stdout + result.stderr
        if result.returncode != 0:
            raise NginxError(f"nginx -t rejected the config:\n{output}")
        return output

    def start(self, conf: str, timeout: float = 10.0) -> None:
        self.test(conf)
        self.conf_path.write_text(self.localize(conf))
        with self.access_log.open("ab") as stdout, self.error_log.open("ab") as stderr:
            self.process = subprocess.Popen(
                [*self._base(self.conf_path), "-g", "daemon off;"], stdout=stdout, stderr=stderr
            )
        try:
            wait_until(self._healthy, timeout, "nginx answering /healthz")
        except TimeoutError as error:
            self.stop()
            raise NginxError(f"{error}\n{self.errors()}") from error

    def _healthy(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            raise NginxError(f"nginx exited:\n{self.errors()}")
        try:
            return http_get(self.ports.listen, "/healthz")[0] == 200
        except OSError:
            return False

    def reload(self, conf: str, timeout: float = 10.0) -> float:
        """Test, swap the file, `nginx -s reload`, and wait until no old worker is left.

        Returns the seconds from the signal to the last old worker's exit.
        """
        self.test(conf)
        tmp = self.workdir / "nginx.conf.next"
        tmp.write_text(self.localize(conf))
        tmp.replace(self.conf_path)
        old = self.workers()
        start = time.monotonic()
        result = subprocess.run(
            [*self._base(self.conf_path), "-s", "reload"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise NginxError(f"nginx -s reload failed:\n{result.stdout}{result.stderr}")

        def swapped() -> bool:
            current = self.workers()
            return bool(current) and not current & old

        try:
            wait_until(swapped, timeout, "old nginx workers gone after reload")
        except TimeoutError as error:
            raise NginxError(f"{error}\n{self.errors()}") from error
        return time.monotonic() - start

    def workers(self) -> set[int]:
        """PIDs whose parent is the master (workers, old ones included during a reload)."""
        if self.process is None:
            return set()
        master = self.process.pid
        found: set[int] = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name may hold spaces: fields after the last ")" are fixed.
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                found.add(int(entry.name))
        return found

    def client_connections(self) -> dict[int, int]:
        """Established client connections on the proxy port held by each worker, from /proc."""
        port = f":{self.ports.listen:04X}"
        inodes: set[str] = set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(port) and fields[3] == "01":  # 01 = ESTABLISHED
                inodes.add(f"socket:[{fields[9]}]")
        counts: dict[int, int] = {}
        for pid in self.workers():
            held = 0
            with contextlib.suppress(OSError):
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    with contextlib.suppress(OSError):
                        held += os.readlink(fd) in inodes
            counts[pid] = held
        return counts

    def errors(self, lines: int = 30) -> str:
        text = self.error_log.read_text(errors="replace") if self.error_log.exists() else ""
        return "nginx error log (tail):\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Nginx:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --- clients ------------------------------------------------------------------------------


def http_get(port: int, path: str, timeout: float = 2.0) -> tuple[int, str]:
    """One request on a fresh connection: (status, body)."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


# What a reused keep-alive connection the server already closed looks like to the client
# (http.client.RemoteDisconnected is a ConnectionResetError).
STALE_CONNECTION = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class KeepAliveClient:
    """A keep-alive HTTP/1.1 client that behaves like real ones.

    A GET that meets a reused connection the server has closed is retried once on a new
    connection, as RFC 9112 section 9.3.1 allows for idempotent requests; the same failure on
    a fresh connection, a timeout or a bad response is an error.
    """

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
        self.retried = 0

    def get(self, path: str = "/") -> tuple[int, str]:
        """(status, X-Involution-Track or "")."""
        reused = self.connection.sock is not None
        try:
            return self._get(path)
        except STALE_CONNECTION:
            self.connection.close()
            if not reused:
                raise
            self.retried += 1
            return self._get(path)

    def _get(self, path: str) -> tuple[int, str]:
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        response.read()
        return response.status, response.getheader(TRACK_HEADER, "")

    def close(self) -> None:
        self.connection.close()


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
    """Keep-alive clients on threads: a fixed number of GETs, or a load until stopped."""

    def __init__(self, port: int, connections: int = 8, path: str = "/") -> None:
        self.port = port
        self.path = path
        self.clients = [KeepAliveClient(port) for _ in range(connections)]
        self.tallies = [Tally() for _ in self.clients]
        self.locks = [threading.Lock() for _ in self.clients]
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.budget: int | None = None
        self.budget_lock = threading.Lock()

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

    def _loop(self, index: int) -> None:
        client, tally, lock = self.clients[index], self.tallies[index], self.locks[index]
        while self._take():
            retried = client.retried
            try:
                status, track = client.get(self.path)
            except Exception as error:  # any failure of a GET counts, whatever its kind
                client.close()
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
                    tally.non_2xx += 1
                    if len(tally.samples) < 10:
                        tally.samples.append(f"HTTP {status}")

    def _launch(self, budget: int | None) -> None:
        self.budget = budget
        self.stop_event.clear()
        self.threads = [
            threading.Thread(target=self._loop, args=(i,), daemon=True)
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
        start = self.snapshot()
        wait_until(lambda: self.snapshot().total - start.total >= requests, timeout, "load")
        return self.snapshot().minus(start)

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


def latencies(port: int, requests: int, path: str = "/") -> list[float]:
    """Seconds per GET, sequential on one keep-alive connection (after a short warm-up)."""
    client = KeepAliveClient(port)
    try:
        for _ in range(min(200, requests)):
            client.get(path)
        samples = []
        for _ in range(requests):
            start = time.perf_counter()
            status, _ = client.get(path)
            samples.append(time.perf_counter() - start)
            if status != 200:
                raise RuntimeError(f"HTTP {status} while timing port {port}")
        return samples
    finally:
        client.close()


# --- scenarios shared by the tests and the benchmark ---------------------------------------


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
    pool: ClientPool, canary: Backend, outage_seconds: float, window: int, timeout: float
) -> CanaryLoss:
    """SIGKILL the canary mid-load, restart it on its port after `outage_seconds`, wait until
    it answers through nginx again, then tally `window` GETs once its weight has ramped up."""
    with pool.load():
        pool.wait_for(500)
        before = pool.snapshot()
        canary.kill()
        time.sleep(outage_seconds)
        outage = pool.snapshot().minus(before)
        canary.start()
        restarted = time.monotonic()

        def canary_answers() -> bool:
            return pool.wait_for(50).tracks.get(canary.track, 0) > 0

        wait_until(canary_answers, timeout, "canary answering through nginx again")
        recovered = time.monotonic() - restarted
        # nginx ramps a recovered server's effective weight back up over ~weight picks.
        pool.wait_for(500)
        after = pool.wait_for(window)
        tally = pool.snapshot().minus(before)
    tally.samples = pool.snapshot().samples
    return CanaryLoss(tally, outage, recovered, after)


def _usage() -> NoReturn:
    raise SystemExit("usage: python -m tests.live_nginx backend TRACK PORT")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "backend":
        _usage()
    serve_engine(sys.argv[2], int(sys.argv[3]))
