"""redis.conf of the cache, rendered from typed data. The password never enters this file:
it is included from a file mounted from a Kubernetes Secret."""

from __future__ import annotations

from dataclasses import dataclass

from involution.names import REDIS_PORT

AUTH_INCLUDE_PATH = "/etc/redis/auth/auth.conf"


@dataclass(frozen=True)
class RedisConf:
    """The directives the cache needs; everything else keeps Redis's defaults."""

    max_memory_mb: int
    eviction_policy: str
    auth_include: str | None = AUTH_INCLUDE_PATH
    port: int = REDIS_PORT
    bind: str = "0.0.0.0"
    data_dir: str = "/data"

    def directives(self) -> list[tuple[str, str]]:
        lines = [
            ("bind", self.bind),
            ("port", str(self.port)),
            # Without a password, protected mode would refuse every client of the Service.
            ("protected-mode", "yes" if self.auth_include else "no"),
            ("maxmemory", f"{self.max_memory_mb}mb"),
            ("maxmemory-policy", self.eviction_policy),
            ("maxmemory-samples", "5"),
            # A cache: nothing to persist, nothing to fsync, restarts start empty.
            ("save", '""'),
            ("appendonly", "no"),
            ("dir", self.data_dir),
            ("tcp-keepalive", "60"),
            ("timeout", "0"),
            ("loglevel", "notice"),
            ("logfile", '""'),
        ]
        if self.auth_include:
            lines.append(("include", self.auth_include))
        return lines


def render_redis_conf(conf: RedisConf) -> str:
    return "".join(f"{name} {value}\n" for name, value in conf.directives())


def auth_conf(password: str) -> str:
    """The included file; lives only in a Kubernetes Secret."""
    escaped = password.replace("\\", "\\\\").replace('"', '\\"')
    return f'requirepass "{escaped}"\n'
