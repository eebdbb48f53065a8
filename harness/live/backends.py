"""Stand-in engines: one process per track, so a canary can be SIGKILLed like a crashed pod.

Each backend runs `python -m harness.live.backends TRACK PORT` and answers every request with a
200 naming its track (the X-Involution-Track header the program's nginx.conf passes on), so
the Python load client does not share a GIL with the servers it measures. It counts what it
served, mirrored copies (X-Involution-Mirror) apart, and tells on `GET /_stand-in/counts`
(not counted), so a test sees what reached the canary at `shadow`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import select
import subprocess
import sys
from collections.abc import Iterator
from types import TracebackType
from typing import NoReturn

from harness.live.net import LOOPBACK, http_get
from harness.paths import PROJECT_DIR
from involution.nginx.conf import TRACK_HEADER
from involution.nginx.traffic import MIRROR_HEADER

COUNTS_PATH = "/_stand-in/counts"


class _EngineProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1 keep-alive server: every request gets the same 200 naming the track."""

    MAX_HEAD = 64 * 1024

    def __init__(self, response: bytes, counts: dict[str, int]) -> None:
        self.response = response
        self.counts = counts
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
            self.transport.write(self._answer(lines[0], headers))
            if close:
                self.transport.close()
                return

    def _answer(self, request_line: bytes, headers: dict[bytes, bytes]) -> bytes:
        parts = request_line.split()
        if len(parts) > 1 and parts[1] == COUNTS_PATH.encode():
            body = json.dumps(self.counts).encode()
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n"
            return head.encode() + body
        mirrored = MIRROR_HEADER.lower().encode() in headers
        key = "mirrored" if mirrored else "served"
        self.counts[key] += 1
        return self.response


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
        counts = {"served": 0, "mirrored": 0}
        server = await loop.create_server(
            lambda: _EngineProtocol(response, counts),
            LOOPBACK,
            port,
            reuse_address=True,
            backlog=1024,
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
        command = [sys.executable, "-m", "harness.live.backends", self.track, str(self.port)]
        process = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=subprocess.PIPE)
        self.process = process
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline().decode() if ready else ""
        if not line.startswith("READY "):
            self.kill()
            raise RuntimeError(f"{self.track} backend did not start (port {self.port}): {line!r}")
        self.port = int(line.split()[1])

    def counts(self) -> dict[str, int]:
        """{"served": requests answered, "mirrored": mirrored copies received} since start."""
        status, body = http_get(self.port, COUNTS_PATH)
        if status != 200:
            raise RuntimeError(f"{self.track} backend counts: HTTP {status}")
        counts: dict[str, int] = json.loads(body)
        return counts

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


def _usage() -> NoReturn:
    raise SystemExit("usage: python -m harness.live.backends TRACK PORT")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        _usage()
    serve_engine(sys.argv[1], int(sys.argv[2]))
