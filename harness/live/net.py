"""Loopback plumbing the live harness shares: free ports, polling, one-shot GETs."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable

LOOPBACK = "127.0.0.1"


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


def http_get(port: int, path: str, timeout: float = 2.0) -> tuple[int, str]:
    """One request on a fresh connection: (status, body)."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


# What a reused keep-alive connection the server already closed looks like to the client:
# the request cannot be sent, or the answer is the end of the stream.
STALE_CONNECTION = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
