"""redis-server started on the rendered redis.conf: auth enforced, cache limits live."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.mockrun import MockRun
from involution.redis_conf import AUTH_INCLUDE_PATH, auth_conf
from tests.conftest import TEST_REDIS_PASSWORD
from tests.test_redis_cache import redis_conf
from tests.tooling import require_tool

pytestmark = pytest.mark.tools
Runner = Callable[..., MockRun]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def localize(conf: str, *, port: int, folder: Path) -> str:
    """Only what differs on a laptop: loopback, a free port, a temp data dir, the auth file
    where the Secret would be mounted."""
    auth_file = folder / "auth.conf"
    auth_file.write_text(auth_conf(TEST_REDIS_PASSWORD))
    replaced = (
        conf.replace("bind 0.0.0.0", "bind 127.0.0.1")
        .replace("port 6379", f"port {port}")
        .replace("dir /data", f"dir {folder}")
        .replace(f"include {AUTH_INCLUDE_PATH}", f"include {auth_file}")
    )
    assert replaced.count(str(folder)) == 2, replaced
    return replaced


@pytest.fixture
def redis(mocked: Runner, tmp_path: Path) -> Iterator[tuple[str, int]]:
    server = require_tool("redis-server", "redis-server")
    cli = require_tool("redis-cli", "redis-tools")
    port = free_port()
    conf = tmp_path / "redis.conf"
    conf.write_text(localize(redis_conf(mocked("production")), port=port, folder=tmp_path))
    process = subprocess.Popen(
        [server, str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None:
                pytest.fail(
                    f"redis-server exited: {process.stdout.read() if process.stdout else ''}"
                )
            time.sleep(0.05)
        yield cli, port
    finally:
        process.terminate()
        process.wait(timeout=10)


def cli_run(cli: str, port: int, *args: str, password: str | None = None) -> str:
    env = {"REDISCLI_AUTH": password} if password else {}
    result = subprocess.run(
        [cli, "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        check=False,
        timeout=10,
    )
    return (result.stdout + result.stderr).strip()


def test_commands_without_the_password_are_refused(redis: tuple[str, int]) -> None:
    cli, port = redis
    assert "NOAUTH" in cli_run(cli, port, "PING")
    assert "NOAUTH" in cli_run(cli, port, "SET", "k", "v")
    assert "WRONGPASS" in cli_run(cli, port, "PING", password="not-the-password")


def test_with_the_password_it_serves_and_limits_are_live(redis: tuple[str, int]) -> None:
    cli, port = redis
    assert cli_run(cli, port, "PING", password=TEST_REDIS_PASSWORD) == "PONG"
    assert cli_run(cli, port, "SET", "involution:v1.3:k", "v", password=TEST_REDIS_PASSWORD) == "OK"
    maxmemory = cli_run(cli, port, "CONFIG", "GET", "maxmemory", password=TEST_REDIS_PASSWORD)
    assert maxmemory.split() == ["maxmemory", str(256 * 1024 * 1024)]
    policy = cli_run(cli, port, "CONFIG", "GET", "maxmemory-policy", password=TEST_REDIS_PASSWORD)
    assert policy.split() == ["maxmemory-policy", "allkeys-lru"]
    save = cli_run(cli, port, "CONFIG", "GET", "appendonly", password=TEST_REDIS_PASSWORD)
    assert save.split() == ["appendonly", "no"]
