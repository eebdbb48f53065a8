"""A real nginx on the program's nginx.conf, in the foreground as the router pod runs it
(`-g 'daemon off;'`), with only upstream hosts, listen ports and temp paths rewritten for
loopback (`localize`)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from harness.live.backends import Backend
from harness.live.net import LOOPBACK, free_port, http_get, wait_until
from involution.names import (
    CANARY_SERVICE,
    ENGINE_PORT,
    ROUTER_PORT,
    ROUTER_STATUS_PORT,
    STABLE_SERVICE,
)
from involution.nginx.conf import RouterSpec

# The temp_root the program renders with (the dataclass default): rewritten per nginx.
DEFAULT_TEMP_ROOT: str = RouterSpec.temp_root


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


_FAIL_TIMEOUT = re.compile(r"(?m)^(\s*server\s+\S+\s[^;\n]*?\bfail_timeout=)(\d+)s\b")


def with_fail_timeout(conf: str, seconds: int) -> str:
    """The config with every upstream server's `fail_timeout` (RouterSpec.fail_timeout_seconds,
    10 s as rendered) set to `seconds`: the live tests of a lost canary wait out one
    fail_timeout, so they run on a shorter one; nothing else changes."""
    changed, count = _FAIL_TIMEOUT.subn(lambda m: f"{m[1]}{seconds}s", conf)
    servers = len(re.findall(r"(?m)^\s*server\s+\S+:\d+\s", conf))
    if count == 0 or count != servers:
        raise ValueError(f"fail_timeout on {count} of {servers} upstream servers")
    return changed
