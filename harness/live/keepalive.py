"""One keep-alive HTTP/1.1 client: the GET every load client of the harness sends."""

from __future__ import annotations

import socket
from collections.abc import Mapping

import httptools

from harness.live.net import LOOPBACK, STALE_CONNECTION
from involution.nginx.conf import TRACK_HEADER

_TRACK_HEADER = TRACK_HEADER.lower().encode()


class _Answer:
    """What the parser reports of one response: the track header, whether the connection
    stays open (known once the headers are read; the parser forgets it at the message's end)
    and that the response ended."""

    __slots__ = ("complete", "keep_alive", "parser", "track")

    def __init__(self) -> None:
        self.track = ""
        self.keep_alive = False
        self.complete = False
        self.parser = httptools.HttpResponseParser(self)

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == _TRACK_HEADER:
            self.track = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()

    def on_message_complete(self) -> None:
        self.complete = True


class KeepAliveClient:
    """A keep-alive HTTP/1.1 client that behaves like real ones.

    A GET that meets a reused connection the server has closed is retried once on a new
    connection, as RFC 9112 section 9.3.1 allows for idempotent requests; the same failure on
    a fresh connection, a timeout or a bad response is an error. A response that says
    `Connection: close` closes the connection; the next GET opens another.

    The responses are parsed by httptools (llhttp, Node's parser) on a plain socket: a GET
    on one connection to a stand-in engine costs 36 us of the client's CPU where http.client,
    which parses every header block with the email package, took 101 us (`time.thread_time`
    over 5,000 GETs), CPU the servers under test and the tests beside them did not get.
    """

    def __init__(self, port: int, timeout: float = 10.0, host: str = LOOPBACK) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self.host_header = f"{host}:{port}"
        self.sock: socket.socket | None = None
        self.retried = 0

    def get(self, path: str = "/", headers: Mapping[str, str] | None = None) -> tuple[int, str]:
        """(status, X-Involution-Track or "")."""
        request = self._request(path, headers or {})
        reused = self.sock is not None
        try:
            return self._exchange(request)
        except STALE_CONNECTION:
            self.close()
            if not reused:
                raise
            self.retried += 1
            return self._exchange(request)

    def _request(self, path: str, headers: Mapping[str, str]) -> bytes:
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host_header}", "Accept-Encoding: identity"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _exchange(self, request: bytes) -> tuple[int, str]:
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = self.sock
        sock.sendall(request)
        answer = _Answer()
        received = False
        while not answer.complete:
            data = sock.recv(65536)
            if not data:
                if received:  # a truncated answer is an error, never a stale connection
                    raise ConnectionError("the server closed the connection mid-response")
                raise ConnectionResetError("the server closed the connection before answering")
            received = True
            answer.parser.feed_data(data)
        status: int = answer.parser.get_status_code()
        if not answer.keep_alive:
            self.close()
        return status, answer.track

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
