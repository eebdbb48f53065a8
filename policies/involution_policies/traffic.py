"""Traffic: how nginx splits requests between the engine tracks, and whether the tracks, their
Services and the router agree on it.

`canary-traffic-weights` judges each object alone: the router's upstream (its nginx.conf in a
ConfigMap) and each track's recorded weight against the phase table. `traffic-split-consistent`
and `tracks-consistent` judge them together, on the whole stack.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)

from involution_policies.config import Schema, config_of, resource_policy, stack_policy
from involution_policies.kube import (
    SCALED_KINDS,
    kind_of,
    object_name,
    pod_spec,
    pod_template_annotations,
    pod_template_labels,
    release_info,
    replicas,
    selects,
)
from involution_policies.names import (
    CANARY_SERVICE,
    CANARY_WEIGHTS,
    NGINX_CONF_CHECKSUM_ANNOTATION,
    STABLE_SERVICE,
    TRACKS,
    UPSTREAM_NAME,
)
from involution_policies.nginx import (
    NginxSyntaxError,
    mentions_upstream,
    parse,
    split_weights,
    upstreams,
)
from involution_policies.props import (
    UNKNOWN,
    as_int,
    elements,
    entries,
    get,
    is_unknown,
    string_map,
)
from involution_policies.resources import ENGINE_SCHEMA, Obj, engine_tracks, objects
from involution_policies.traffic_controls import (
    OVERRIDE_SCHEMA,
    controls_problems,
    mirrored_tracks,
    sticky_weights,
)

WEIGHTS_SCHEMA: Final[Schema] = {
    "upstreamName": {
        "type": "string",
        "default": UPSTREAM_NAME,
        "description": "nginx upstream that splits traffic between the tracks",
    },
    "stableHost": {"type": "string", "default": STABLE_SERVICE, "description": "stable Service"},
    "canaryHost": {"type": "string", "default": CANARY_SERVICE, "description": "canary Service"},
    "allowedCanaryWeights": {
        "type": "array",
        "items": {"type": "integer", "minimum": 0, "maximum": 100},
        "default": list(CANARY_WEIGHTS),
        "description": "canary shares (percent) the release process allows",
    },
    "allowBackup": {
        "type": "boolean",
        "default": True,
        "description": "allow `backup` servers: failover only, no share of the split",
    },
    **OVERRIDE_SCHEMA,
}


def expected_canary_weight(phase: str | None, allowed: list[int]) -> int | None:
    """The canary's share at a phase: the phase number, 0 for none, shadow (copies only) and
    rollback."""
    if phase in ("none", "shadow", "rollback"):
        return 0
    number = as_int(phase)
    return number if number is not None and number > 0 and number in allowed else None


def upstream_problems(
    conf: str,
    hosts: Mapping[str, str],
    allowed: list[int],
    upstream: str,
    *,
    allow_backup: bool,
    allow_override: bool = False,
) -> list[str]:
    """What is wrong with the split of every `upstream <upstream>` block of a config text, and
    with the controls around it (sticky split, header override, mirror)."""
    try:
        blocks = upstreams(conf, upstream)
        tree = parse(conf)
    except NginxSyntaxError as error:
        return [f"nginx.conf does not parse: {error}"]
    problems: list[str] = []
    weight: int | None = None
    for block in blocks:
        split = split_weights(block, hosts, allow_backup=allow_backup)
        problems += split.problems
        if not split.complete:
            continue
        total = sum(split.weights.values())
        if total != 100:
            shares = ", ".join(f"{t}={w}" for t, w in sorted(split.weights.items()))
            problems.append(f"stable + canary weights add up to {total}, not 100 ({shares})")
        canary = split.weights.get("canary", 0)
        weight = canary
        if canary not in allowed:
            problems.append(f"canary weight {canary} is not an allowed phase weight {allowed}")
    if blocks:
        problems += controls_problems(tree, hosts, upstream, weight, allow_override=allow_override)
    return problems


def canary_traffic_weights(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Traffic is split only at the allowed canary weights (0/10/50/100), stable + canary = 100,
    and a track at 0% is absent from the nginx upstream, never `weight=0`.

    These are the phases the release process monitors and rolls back between; nginx refuses
    `weight=0`, and a weight outside the phase table is traffic nobody agreed to. A `backup`
    server (the stable track standing by at 100%) takes no share and is not counted.
    """
    cfg = config_of(args, WEIGHTS_SCHEMA)
    kind = kind_of(args.resource_type)
    allowed = cfg.integers("allowedCanaryWeights")
    upstream = cfg.string("upstreamName")
    if kind == "ConfigMap":
        hosts = {cfg.string("stableHost"): "stable", cfg.string("canaryHost"): "canary"}
        where = object_name(kind, args.props, args.name)
        for key, value in entries(get(args.props, "data")):
            if not isinstance(value, str) or is_unknown(value):
                continue
            if not mentions_upstream(value, upstream):
                continue
            for problem in upstream_problems(
                value,
                hosts,
                allowed,
                upstream,
                allow_backup=cfg.flag("allowBackup"),
                allow_override=cfg.flag("allowOverride"),
            ):
                report(f"{where} {key}: {problem}", None)
        return
    info = release_info(args.props)
    if kind != "Deployment" or info is None:
        return
    canary_share = expected_canary_weight(info.phase, allowed)
    if canary_share is None:
        report(f"engine {info.track} track is at phase {info.phase!r}, not an allowed phase", None)
        return
    expected = canary_share if info.track == "canary" else 100 - canary_share
    recorded = as_int(info.traffic_weight)
    if recorded != expected:
        report(
            f"engine {info.track} track records traffic weight {info.traffic_weight!r} at phase "
            f"{info.phase}; the phase table gives it {expected}",
            None,
        )


TRAFFIC_SCHEMA: Final[Schema] = {
    **WEIGHTS_SCHEMA,
    **ENGINE_SCHEMA,
    "checksumAnnotation": {
        "type": "string",
        "default": NGINX_CONF_CHECKSUM_ANNOTATION,
        "description": "router pod-template annotation holding sha256 of nginx.conf",
    },
}


# A message and the URN of the resource it is reported against (None: the stack).
Problem = tuple[str, str | None]


@dataclass(frozen=True)
class Router:
    """A ConfigMap declaring the upstream: its config text and the split it serves."""

    obj: Obj
    conf: str
    weights: dict[str, int]  # the sticky split's shares when there is one (they are the split)
    mirrored: frozenset[str] = frozenset()  # tracks receiving `mirror` copies


def routers(configmaps: list[Obj], upstream: str, hosts: Mapping[str, str]) -> list[Router]:
    """Every ConfigMap entry that declares the upstream (one that does not parse is left to
    `canary-traffic-weights`)."""
    found: list[Router] = []
    for obj in configmaps:
        for _key, value in entries(get(obj.props, "data")):
            if not isinstance(value, str) or is_unknown(value):
                continue
            if not mentions_upstream(value, upstream):
                continue
            try:
                blocks = upstreams(value, upstream)
            except NginxSyntaxError:
                continue
            if blocks:
                tree = parse(value)
                sticky = sticky_weights(tree, hosts, upstream)
                weights = sticky if sticky is not None else split_weights(blocks[0], hosts).weights
                mirrored = frozenset(mirrored_tracks(tree, hosts))
                found.append(Router(obj, value, weights, mirrored))
    return found


def _check_recorded_weights(deployments: list[Obj], weight: int, router: Obj) -> list[Problem]:
    problems: list[Problem] = []
    for deployment in deployments:
        info = release_info(deployment.props)
        recorded = as_int(info.traffic_weight) if info else None
        if info is not None and info.traffic_weight is not None and recorded != weight:
            problems.append(
                (
                    f"{deployment.title} records traffic weight {info.traffic_weight} but "
                    f"{router.title} sends it {weight}",
                    deployment.urn,
                )
            )
    return problems


def _check_served(
    *,
    track: str,
    weight: int,
    deployments: list[Obj],
    host: str,
    router: Obj,
    services: list[Obj],
    sends: str = "",
) -> list[Problem]:
    """A track with a share of traffic (or mirrored copies) has pods and a Service."""
    receives = f"{weight}% of traffic" if weight > 0 else "mirrored copies of requests"
    sends = sends or f"sends {weight}% to"
    if not deployments:
        return [(f"{router.title} {sends} the {track} track, which has no Deployment", router.urn)]
    problems: list[Problem] = []
    for deployment in deployments:
        count = replicas(deployment.props)
        if count is not UNKNOWN and count is not None and count < 1:
            problems.append(
                (
                    f"{deployment.title} has {count} replicas but receives {receives}",
                    deployment.urn,
                )
            )
    pods = pod_template_labels("Deployment", deployments[0].props)
    service = next((s for s in services if s.name == host and s.same_namespace(router)), None)
    if service is None:
        problems.append(
            (f"{router.title} {sends} {host}, but no Service {host} exists", router.urn)
        )
        return problems
    selector = string_map(get(service.props, "spec", "selector"))
    if pods and selector and not selects(selector, pods):
        problems.append((f"{service.title} does not select the {track} track's pods", service.urn))
    return problems


def _check_mounted(
    resources: list[PolicyResource], router: Router, checksum_key: str
) -> list[Problem]:
    """The router's config is mounted by a workload whose pods carry its checksum."""
    problems: list[Problem] = []
    mounted = False
    undecided = is_unknown(get(router.obj.props, "metadata", "name"))
    digest = hashlib.sha256(router.conf.encode()).hexdigest()
    for deployment in objects(resources, *SCALED_KINDS):
        volumes = elements(get(pod_spec(deployment.kind, deployment.props), "volumes"))
        references = [get(volume, "configMap", "name") for volume in volumes]
        undecided = undecided or any(is_unknown(ref) for ref in references)
        if router.obj.name not in references or not deployment.same_namespace(router.obj):
            continue
        mounted = True
        checksum = pod_template_annotations(deployment.kind, deployment.props).get(checksum_key)
        if checksum is not None and checksum != digest:
            problems.append(
                (
                    f"{deployment.title} carries {checksum_key}={checksum[:12]}... but "
                    f"{router.obj.title} hashes to {digest[:12]}...: its pods would not roll",
                    deployment.urn,
                )
            )
    if not mounted and not undecided:
        problems.append(
            (f"no Deployment mounts {router.obj.title}: the split is not served", router.obj.urn)
        )
    return problems


def traffic_split_consistent(args: StackValidationArgs, report: ReportViolation) -> None:
    """The router's upstream, the tracks' recorded weights and phase, and the pods agree: every
    track with traffic has ready capacity and a Service, and the router runs this nginx.conf.

    A weight sent to a track with no pods or no Service is an outage for that share of
    requests; a router whose pods do not carry the config's checksum may keep serving the old
    split after `pulumi up` returns.
    """
    cfg = config_of(args, TRAFFIC_SCHEMA)
    upstream_name = cfg.string("upstreamName")
    hosts = {cfg.string("stableHost"): "stable", cfg.string("canaryHost"): "canary"}
    host_of = {track: host for host, track in hosts.items()}
    found = routers(objects(args.resources, "ConfigMap"), upstream_name, hosts)
    if not found:
        report(f"no ConfigMap declares the nginx upstream {upstream_name}", None)
        return
    if len(found) > 1:
        names = ", ".join(router.obj.title for router in found)
        report(f"{len(found)} router configs declare {upstream_name} ({names}): expected one", None)
    router = found[0]
    tracks = engine_tracks(args.resources, cfg.string("engineName"))
    services = objects(args.resources, "Service")
    problems: list[Problem] = []
    for track in TRACKS:
        weight = router.weights.get(track, 0)
        deployments = tracks.get(track, [])
        problems += _check_recorded_weights(deployments, weight, router.obj)
        if weight > 0 or track in router.mirrored:
            problems += _check_served(
                track=track,
                weight=weight,
                deployments=deployments,
                host=host_of[track],
                router=router.obj,
                services=services,
                sends="" if weight > 0 else "mirrors copies of requests to",
            )
    for message, urn in problems:
        report(message, urn)
    phases = {
        info.phase
        for objs in tracks.values()
        for obj in objs
        if (info := release_info(obj.props)) is not None and info.phase is not None
    }
    if len(phases) > 1:
        report(f"the engine tracks record different phases: {', '.join(sorted(phases))}", None)
    for message, urn in _check_mounted(args.resources, router, cfg.string("checksumAnnotation")):
        report(message, urn)


POLICIES: Final = [
    resource_policy(
        "canary-traffic-weights",
        EnforcementLevel.MANDATORY,
        canary_traffic_weights,
        WEIGHTS_SCHEMA,
    ),
    stack_policy(
        "traffic-split-consistent",
        EnforcementLevel.MANDATORY,
        traffic_split_consistent,
        TRAFFIC_SCHEMA,
    ),
]
