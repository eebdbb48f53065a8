"""The router's traffic controls as typed nginx directives: per-track upstreams, the header
override (`map`), the sticky split (`split_clients`) and the shadow copy (`mirror`).

`involution/nginx/conf.py` puts them into nginx.conf; crossplane renders the text. Each
control is rendered only when configured, so a stack without them keeps the plain weighted
upstream `involution_engine`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from involution.names import UPSTREAM_NAME

Directive = dict[str, Any]

STABLE_UPSTREAM = "involution_stable"
CANARY_UPSTREAM = "involution_canary"
MIRROR_UPSTREAM = "involution_mirror"
MIRROR_LOCATION = "/_involution_mirror"
MIRROR_HEADER = "X-Involution-Mirror"
TRACK_UPSTREAMS = {"stable": STABLE_UPSTREAM, "canary": CANARY_UPSTREAM}
OVERRIDE_VARIABLE = "$involution_override"
STICKY_VARIABLE = "$involution_sticky"
STICKY_SPLIT_VARIABLE = "$involution_sticky_split"
ROUTE_VARIABLE = "$involution_upstream"
MIRROR_SKIP_VARIABLE = "$involution_mirror_skip"
MIRROR_SAMPLE_VARIABLE = "$involution_mirror_sample"  # the percent split, before the header


def directive(name: str, *args: object, block: list[Directive] | None = None) -> Directive:
    node: Directive = {"directive": name, "args": [str(a) for a in args]}
    if block is not None:
        node["block"] = block
    return node


@dataclass(frozen=True)
class UpstreamServer:
    """One `server` line; a weight of 0 never reaches nginx (it rejects `weight=0`). A backup
    server takes requests only while every weighted server is down."""

    host: str
    port: int
    weight: int
    track: str
    backup: bool = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class TrackUpstream:
    """An upstream that serves one track (`involution_stable`, `involution_canary`) with the
    other as backup when it has pods, or the canary alone for the mirror."""

    name: str
    servers: tuple[UpstreamServer, ...]


@dataclass(frozen=True)
class TrafficRoutes:
    """Which controls the router renders; the defaults are the plain weighted split.

    `override_header`: the header whose value `stable`/`canary` (for the tracks in
    `override_tracks`) pins a request. `sticky_key`: the nginx variable split_clients hashes,
    with `sticky_canary_percent` of the keys on the canary (canary bucket first, so a client
    on the canary at 10 stays on it at 50). `mirror_percent`: at `shadow`, the percent of
    requests copied to the canary."""

    override_header: str | None = None
    override_tracks: tuple[str, ...] = ()
    sticky_key: str | None = None
    sticky_canary_percent: int = 0
    mirror_percent: int | None = None
    track_upstreams: tuple[TrackUpstream, ...] = field(default=())

    @property
    def proxy_target(self) -> str:
        """What `proxy_pass http://...` names: the weighted upstream or the route variable."""
        if self.override_header is not None:
            return ROUTE_VARIABLE
        if self.sticky_key is not None:
            return STICKY_SPLIT_VARIABLE
        return UPSTREAM_NAME


def _map(source: str, variable: str, entries: list[tuple[str, str]]) -> Directive:
    return directive(
        "map", source, variable, block=[directive(key, value) for key, value in entries]
    )


def routing_directives(routes: TrafficRoutes) -> list[Directive]:
    """The http-level maps and split_clients that choose each request's upstream."""
    found: list[Directive] = []
    split = UPSTREAM_NAME
    if routes.sticky_key is not None:
        canary = routes.sticky_canary_percent
        found.append(
            directive(
                "split_clients",
                routes.sticky_key,
                STICKY_VARIABLE,
                block=[
                    directive(f"{canary}%", CANARY_UPSTREAM),
                    directive("*", STABLE_UPSTREAM),
                ],
            )
        )
        # No key (no header, no cookie): the per-request weighted split.
        found.append(
            _map(
                routes.sticky_key,
                STICKY_SPLIT_VARIABLE,
                [("", split), ("default", STICKY_VARIABLE)],
            )
        )
        split = STICKY_SPLIT_VARIABLE
    if routes.override_header is not None:
        source = "$http_" + routes.override_header.lower().replace("-", "_")
        pins = [(track, TRACK_UPSTREAMS[track]) for track in routes.override_tracks]
        found.append(_map(source, OVERRIDE_VARIABLE, [("default", ""), *pins]))
        found.append(
            _map(OVERRIDE_VARIABLE, ROUTE_VARIABLE, [("", split), ("default", OVERRIDE_VARIABLE)])
        )
    found.extend(_mirror_skip(routes))
    return found


def _pins_canary(routes: TrafficRoutes) -> bool:
    return routes.override_header is not None and "canary" in routes.override_tracks


def _mirror_skip(routes: TrafficRoutes) -> list[Directive]:
    """`$involution_mirror_skip` is 1 for a request nginx copies nowhere: outside the sampled
    percent, or pinned to the canary by the header (the canary answers it already; a copy would
    make it see the request twice)."""
    if routes.mirror_percent is None:
        return []
    sampled = routes.mirror_percent < 100
    pinned = _pins_canary(routes)
    found: list[Directive] = []
    if sampled:
        found.append(
            directive(
                "split_clients",
                "$request_id",
                MIRROR_SAMPLE_VARIABLE if pinned else MIRROR_SKIP_VARIABLE,
                block=[directive(f"{routes.mirror_percent}%", 0), directive("*", 1)],
            )
        )
    if pinned:
        found.append(
            _map(
                OVERRIDE_VARIABLE,
                MIRROR_SKIP_VARIABLE,
                [
                    ("default", MIRROR_SAMPLE_VARIABLE if sampled else "0"),
                    (TRACK_UPSTREAMS["canary"], "1"),
                ],
            )
        )
    return found


def mirror_directives(routes: TrafficRoutes) -> list[Directive]:
    """In `location /` at shadow: copy each request (body included) to the mirror location;
    nginx discards the copy's answer."""
    if routes.mirror_percent is None:
        return []
    return [directive("mirror", MIRROR_LOCATION), directive("mirror_request_body", "on")]


def mirror_location(routes: TrafficRoutes, proxy_settings: list[Directive]) -> list[Directive]:
    """The internal location the copies go through, to the canary alone (a dead canary loses
    copies, never sends them to stable)."""
    if routes.mirror_percent is None:
        return []
    skip = (
        [directive("if", MIRROR_SKIP_VARIABLE, block=[directive("return", 204)])]
        if routes.mirror_percent < 100 or _pins_canary(routes)
        else []
    )
    return [
        directive(
            "location",
            "=",
            MIRROR_LOCATION,
            block=[
                directive("internal"),
                *skip,
                directive("proxy_pass", f"http://{MIRROR_UPSTREAM}$request_uri"),
                *proxy_settings,
                directive("proxy_set_header", MIRROR_HEADER, "1"),
            ],
        )
    ]
