"""nginx.conf of the traffic router, built from typed data and rendered by crossplane.

The only place the config text is produced, so every stack, test and benchmark reads the same
file the cluster gets.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import crossplane

from involution.config.traffic import TrafficSettings
from involution.names import (
    CANARY_SERVICE,
    ENGINE_PORT,
    ROUTER_PORT,
    ROUTER_STATUS_PORT,
    STABLE_SERVICE,
    UPSTREAM_NAME,
)
from involution.nginx.traffic import (
    CANARY_UPSTREAM,
    MIRROR_UPSTREAM,
    STABLE_UPSTREAM,
    Directive,
    TrackUpstream,
    TrafficRoutes,
    UpstreamServer,
    mirror_directives,
    mirror_location,
    routing_directives,
)
from involution.nginx.traffic import directive as _d
from involution.phases import Phase, PhasePlan

__all__ = ["RouterSpec", "TrafficRoutes", "UpstreamServer", "render_nginx_conf", "router_spec"]

TRACK_HEADER = "X-Involution-Track"
UPSTREAM_HEADER = "X-Involution-Upstream"


@dataclass(frozen=True)
class RouterSpec:
    """What the router must do: the weighted upstream and the knobs around it."""

    phase: str
    stable_weight: int
    canary_weight: int
    servers: tuple[UpstreamServer, ...]
    listen_port: int = ROUTER_PORT
    status_port: int = ROUTER_STATUS_PORT
    zone_size: str = "64k"
    keepalive_connections: int = 32
    # Idle upstream connections are dropped before the engine's own idle timeout (5 s in
    # common Python servers), so a POST never meets a connection the engine just closed.
    keepalive_timeout_seconds: int = 4
    # One 5xx must not take a track out of the split for fail_timeout; a dead one still goes
    # after three failed attempts, each retried on the other track.
    max_fails: int = 3
    fail_timeout_seconds: int = 10
    next_upstream_tries: int = 2
    connect_timeout_seconds: int = 2
    read_timeout_seconds: int = 30
    # Fixed rather than `auto` (which counts the node's CPUs, not the pod's limit); the shared
    # zone keeps one weighted round-robin across both.
    worker_processes: str = "2"
    # Where nginx may write: the root filesystem is read-only in the pod.
    temp_root: str = "/tmp"
    # X-Involution-Upstream (the answering pod's IP:port) shows internal addresses: dev only.
    expose_upstream: bool = False
    # Header override, sticky split, shadow mirror (involution/nginx/traffic.py).
    routes: TrafficRoutes = field(default=TrafficRoutes())


def router_spec(
    plan: PhasePlan,
    *,
    traffic: TrafficSettings | None = None,
    stable_host: str = STABLE_SERVICE,
    canary_host: str = CANARY_SERVICE,
    port: int = ENGINE_PORT,
    expose_upstream: bool = False,
) -> RouterSpec:
    """Weights from the phase plan; a track at 0% is left out of the weighted servers. At 100%
    the stable track, kept warm for a fast rollback, stands by as a backup: if every canary pod
    fails, requests go to stable instead of failing until someone rolls back."""
    stable = UpstreamServer(stable_host, port, plan.stable_weight, "stable")
    canary = UpstreamServer(canary_host, port, plan.canary_weight, "canary")
    servers = tuple(server for server in (stable, canary) if server.weight > 0)
    if plan.phase is Phase.P100:
        servers = (*servers, UpstreamServer(stable_host, port, 0, "stable", backup=True))
    return RouterSpec(
        phase=plan.phase.value,
        stable_weight=plan.stable_weight,
        canary_weight=plan.canary_weight,
        servers=servers,
        expose_upstream=expose_upstream,
        routes=traffic_routes(plan, traffic or TrafficSettings(), stable, canary),
    )


def traffic_routes(
    plan: PhasePlan, traffic: TrafficSettings, stable: UpstreamServer, canary: UpstreamServer
) -> TrafficRoutes:
    """The controls a phase renders. A pinned or sticky request falls over to the other track
    (a `backup` server) only where that track serves answers: never to the canary at shadow."""
    pods = plan.phase.has_canary_pods
    split = 0 < plan.canary_weight < 100
    sticky = traffic.sticky.variable if traffic.sticky.enabled and split else None
    mirror = traffic.mirror_percent if plan.phase is Phase.SHADOW else None
    tracks = ("stable", "canary") if pods else ("stable",)
    wanted: set[str] = set()
    if traffic.override:
        wanted.update(tracks)
    if sticky is not None:
        wanted.update(("stable", "canary"))

    def only(server: UpstreamServer) -> UpstreamServer:  # the one primary: weight 1
        return UpstreamServer(server.host, server.port, 1, server.track)

    def backup(server: UpstreamServer) -> UpstreamServer:
        return UpstreamServer(server.host, server.port, 0, server.track, backup=True)

    upstreams: list[TrackUpstream] = []
    if "stable" in wanted:
        standby = (backup(canary),) if plan.canary_weight > 0 else ()
        upstreams.append(TrackUpstream(STABLE_UPSTREAM, (only(stable), *standby)))
    if "canary" in wanted:
        upstreams.append(TrackUpstream(CANARY_UPSTREAM, (only(canary), backup(stable))))
    if mirror is not None:
        upstreams.append(TrackUpstream(MIRROR_UPSTREAM, (only(canary),)))
    return TrafficRoutes(
        override_header=traffic.override_header if traffic.override else None,
        override_tracks=tracks if traffic.override else (),
        sticky_key=sticky,
        sticky_canary_percent=plan.canary_weight if sticky is not None else 0,
        mirror_percent=mirror,
        track_upstreams=tuple(upstreams),
    )


def _upstream(
    spec: RouterSpec, name: str = UPSTREAM_NAME, servers: tuple[UpstreamServer, ...] = ()
) -> Directive:
    lines = [
        _d(
            "server",
            server.address,
            "backup" if server.backup else f"weight={server.weight}",
            f"max_fails={spec.max_fails}",
            f"fail_timeout={spec.fail_timeout_seconds}s",
        )
        for server in servers or spec.servers
    ]
    return _d(
        "upstream",
        name,
        block=[
            # Shared memory so the weighted round-robin state holds across worker processes.
            _d("zone", name, spec.zone_size),
            *lines,
            _d("keepalive", spec.keepalive_connections),
            _d("keepalive_timeout", f"{spec.keepalive_timeout_seconds}s"),
        ],
    )


def _upstreams(spec: RouterSpec) -> list[Directive]:
    tracks = [_upstream(spec, u.name, u.servers) for u in spec.routes.track_upstreams]
    return [_upstream(spec), *tracks, *routing_directives(spec.routes)]


def _proxy_settings(spec: RouterSpec) -> list[Directive]:
    """What every proxied request, mirrored copies included, is sent with."""
    return [
        # Keep-alive to the engines needs HTTP/1.1 and an empty Connection header.
        _d("proxy_http_version", "1.1"),
        _d("proxy_set_header", "Connection", ""),
        _d("proxy_set_header", "Host", "$host"),
        _d("proxy_set_header", "X-Request-ID", "$request_id"),
        _d("proxy_set_header", "X-Forwarded-For", "$proxy_add_x_forwarded_for"),
        _d("proxy_set_header", "X-Forwarded-Proto", "$scheme"),
        _d("proxy_connect_timeout", f"{spec.connect_timeout_seconds}s"),
        _d("proxy_read_timeout", f"{spec.read_timeout_seconds}s"),
    ]


def _proxy_location(spec: RouterSpec) -> Directive:
    return _d(
        "location",
        "/",
        block=[
            *mirror_directives(spec.routes),
            _d("proxy_pass", f"http://{spec.routes.proxy_target}"),
            *_proxy_settings(spec),
            # A failed idempotent request is retried once on the other server; nginx never
            # retries a POST that reached an engine (non_idempotent is deliberately absent).
            _d("proxy_next_upstream", "error", "timeout", "http_502", "http_503", "http_504"),
            _d("proxy_next_upstream_tries", spec.next_upstream_tries),
            _d("proxy_next_upstream_timeout", f"{spec.read_timeout_seconds}s"),
            # The engine names its track in X-Involution-Track (passed through); nginx adds
            # which upstream address answered, retries included.
            *(
                [_d("add_header", UPSTREAM_HEADER, "$upstream_addr", "always")]
                if spec.expose_upstream
                else []
            ),
            _d("add_header", "X-Request-ID", "$request_id", "always"),
        ],
    )


PHASE_CODES = {"none": 0, "shadow": 1, "10": 10, "50": 50, "100": 100, "rollback": -1}


def weights_metrics(spec: RouterSpec) -> str:
    """Prometheus text exposition of the live split, so dashboards and alerts can read it."""
    phase_code = PHASE_CODES[spec.phase]
    mirror = spec.routes.mirror_percent or 0
    lines = [
        "# HELP involution_canary_weight Upstream weight per track in the live nginx.conf.",
        "# TYPE involution_canary_weight gauge",
        f'involution_canary_weight{{track="stable"}} {spec.stable_weight}',
        f'involution_canary_weight{{track="canary"}} {spec.canary_weight}',
        "# HELP involution_canary_phase Canary phase (-1 = rollback, 1 = shadow).",
        "# TYPE involution_canary_phase gauge",
        f'involution_canary_phase{{phase="{spec.phase}"}} {phase_code}',
        "# HELP involution_canary_mirror_percent Percent of requests copied to the canary.",
        "# TYPE involution_canary_mirror_percent gauge",
        f'involution_canary_mirror_percent{{track="canary"}} {mirror}',
    ]
    return "\n".join(lines) + "\n"


def _status_server(spec: RouterSpec) -> Directive:
    return _d(
        "server",
        block=[
            _d("listen", spec.status_port),
            _d("access_log", "off"),
            _d("location", "=", "/stub_status", block=[_d("stub_status")]),
            _d(
                "location",
                "=",
                "/metrics",
                block=[
                    _d("default_type", "text/plain; version=0.0.4"),
                    _d("return", 200, weights_metrics(spec)),
                ],
            ),
        ],
    )


def nginx_conf_payload(spec: RouterSpec) -> list[Directive]:
    """The whole nginx.conf as crossplane directives (a standalone file: no includes)."""
    tmp = spec.temp_root
    log_format = (
        '$remote_addr [$time_local] "$request" $status $body_bytes_sent '
        "rt=$request_time upstream=$upstream_addr ust=$upstream_status "
        "urt=$upstream_response_time track=$upstream_http_x_involution_track id=$request_id"
    )
    http = [
        _d("default_type", "application/octet-stream"),
        _d("server_tokens", "off"),
        _d("log_format", "involution", log_format),
        _d("access_log", "/dev/stdout", "involution"),
        _d("keepalive_timeout", "65s"),
        _d("client_body_temp_path", f"{tmp}/client_temp"),
        _d("proxy_temp_path", f"{tmp}/proxy_temp"),
        _d("fastcgi_temp_path", f"{tmp}/fastcgi_temp"),
        _d("uwsgi_temp_path", f"{tmp}/uwsgi_temp"),
        _d("scgi_temp_path", f"{tmp}/scgi_temp"),
        *_upstreams(spec),
        _d(
            "server",
            block=[
                _d("listen", spec.listen_port),
                _d(
                    "location",
                    "=",
                    "/healthz",
                    block=[
                        _d("access_log", "off"),
                        _d("default_type", "text/plain"),
                        _d("return", 200, "ok\n"),
                    ],
                ),
                _proxy_location(spec),
                *mirror_location(spec.routes, _proxy_settings(spec)),
            ],
        ),
        _status_server(spec),
    ]
    return [
        _d("worker_processes", spec.worker_processes),
        _d("pid", f"{tmp}/nginx.pid"),
        _d("error_log", "/dev/stderr", "warn"),
        _d("events", block=[_d("worker_connections", 1024)]),
        _d("http", block=http),
    ]


def render_nginx_conf(spec: RouterSpec) -> str:
    text: str = crossplane.build(nginx_conf_payload(spec), indent=4)
    return text + "\n"


def config_checksum(text: str) -> str:
    """Put on the pod template: a new split rolls the router and `pulumi up` waits for it."""
    return hashlib.sha256(text.encode()).hexdigest()
