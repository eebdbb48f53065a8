"""Read a rendered nginx.conf back with crossplane, the parser nginx's own tooling uses."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import crossplane


def parse_conf(text: str) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "nginx.conf"
        path.write_text(text)
        payload = crossplane.parse(str(path), single=True, check_ctx=True, check_args=True)
    if payload["errors"]:
        raise AssertionError(payload["errors"])
    parsed: list[dict[str, Any]] = payload["config"][0]["parsed"]
    return parsed


def find(block: list[dict[str, Any]], directive: str) -> list[dict[str, Any]]:
    return [d for d in block if d["directive"] == directive]


def upstream_servers(text: str, name: str = "involution_engine") -> dict[str, dict[str, str]]:
    """{"engine-stable:8080": {"weight": "90", ...}} for the named upstream."""
    http = find(parse_conf(text), "http")[0]["block"]
    upstream = next(u for u in find(http, "upstream") if u["args"] == [name])
    servers: dict[str, dict[str, str]] = {}
    for server in find(upstream["block"], "server"):
        address, *params = server["args"]
        servers[address] = dict(p.split("=", 1) if "=" in p else (p, "") for p in params)
    return servers


def upstream_block(text: str, name: str = "involution_engine") -> list[dict[str, Any]]:
    http = find(parse_conf(text), "http")[0]["block"]
    block: list[dict[str, Any]] = next(u for u in find(http, "upstream") if u["args"] == [name])[
        "block"
    ]
    return block


def upstream_weights(text: str) -> dict[str, int]:
    """Weighted servers only: {"engine-stable:8080": 90, ...}."""
    return {
        address: int(params["weight"])
        for address, params in upstream_servers(text).items()
        if "backup" not in params
    }


def upstream_backups(text: str) -> list[str]:
    return [address for address, params in upstream_servers(text).items() if "backup" in params]
