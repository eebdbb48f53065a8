"""The load clients' keep-alive GET (harness.live.keepalive.KeepAliveClient), the instrument of
every "no request lost" assertion, against a scripted server on a real socket: connections reused,
`Connection: close` obeyed, a stale connection retried once, a fresh or truncated failure
never retried."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from harness.live.keepalive import KeepAliveClient
from harness.live.net import LOOPBACK
from involution.nginx.conf import TRACK_HEADER

pytestmark = pytest.mark.tools

# (connection number, request number on it) -> (bytes to send, close the connection after)
Script = Callable[[int, int], tuple[bytes, bool]]


def answer(track: str, *, close: bool = False, chunked: bool = False) -> bytes:
    body = f"track={track}\n".encode()
    head = [
        "HTTP/1.1 200 OK",
        f"{TRACK_HEADER}: {track}",
        "Connection: close" if close else "Connection: keep-alive",
    ]
    if chunked:
        head.append("Transfer-Encoding: chunked")
        payload = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    else:
        head.append(f"Content-Length: {len(body)}")
        payload = body
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


class ScriptedServer:
    """Answers each request as `script` says; counts the connections it accepted."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.listener = socket.create_server((LOOPBACK, 0))
        self.port: int = self.listener.getsockname()[1]
        self.connections = 0
        self.requests: list[bytes] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            number = self.connections
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        with conn:
            buffer, index = b"", 0
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                request, buffer = buffer.split(b"\r\n\r\n", 1)
                self.requests.append(request)
                payload, close = self.script(number, index)
                index += 1
                if payload:
                    conn.sendall(payload)
                if close:
                    return

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Script], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(script: Script) -> ScriptedServer:
        servers.append(ScriptedServer(script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_one_connection_carries_every_get_and_the_headers_asked(
    serve: Callable[[Script], ScriptedServer],
) -> None:
    server = serve(lambda conn, index: (answer("stable", chunked=index % 2 == 1), False))
    client = KeepAliveClient(server.port)
    answers = [client.get("/", {"X-Client": f"client-{n}"}) for n in range(6)]
    client.close()
    assert answers == [(200, "stable")] * 6
    assert server.connections == 1 and client.retried == 0
    assert b"X-Client: client-5" in server.requests[-1]
    assert server.requests[0].startswith(b"GET / HTTP/1.1\r\nHost: ")


def test_connection_close_is_obeyed_and_the_next_get_opens_another(
    serve: Callable[[Script], ScriptedServer],
) -> None:
    server = serve(lambda conn, index: (answer("canary", close=True), True))
    client = KeepAliveClient(server.port)
    assert [client.get() for _ in range(3)] == [(200, "canary")] * 3
    assert server.connections == 3 and client.retried == 0


def test_a_reused_connection_the_server_closed_is_retried_once(
    serve: Callable[[Script], ScriptedServer],
) -> None:
    # The first connection answers once and then closes without a word (an idle keep-alive
    # timeout, a reload); every later connection answers normally.
    server = serve(
        lambda conn, index: (b"", True) if conn == 0 and index == 1 else (answer("stable"), False)
    )
    client = KeepAliveClient(server.port)
    assert client.get() == (200, "stable")
    assert client.get() == (200, "stable")
    assert client.retried == 1 and server.connections == 2


def test_a_fresh_connection_closed_unanswered_is_an_error_not_a_retry(
    serve: Callable[[Script], ScriptedServer],
) -> None:
    server = serve(lambda conn, index: (b"", True))
    client = KeepAliveClient(server.port)
    with pytest.raises(ConnectionResetError):
        client.get()
    assert client.retried == 0 and server.connections == 1


def test_a_truncated_answer_on_a_reused_connection_is_an_error_not_a_retry(
    serve: Callable[[Script], ScriptedServer],
) -> None:
    whole = answer("stable")
    server = serve(lambda conn, index: (whole, False) if index == 0 else (whole[:-5], True))
    client = KeepAliveClient(server.port)
    assert client.get() == (200, "stable")
    with pytest.raises(ConnectionError) as raised:
        client.get()
    assert not isinstance(raised.value, ConnectionResetError)
    assert client.retried == 0 and server.connections == 1
