"""Stack policies: rules about how resources relate, judged on the whole stack at once.

The engine runs them after every resource was analyzed (`AnalyzeStack`), on each resource's
final state. Each violation names the resource to fix; a missing resource is reported
against the stack.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
)

from involution_policies.config import Schema, config_of, stack_policy, string_list
from involution_policies.kube import (
    NAME_LABEL,
    SCALED_KINDS,
    TRACK_LABEL,
    containers,
    kind_of,
    labels_of,
    object_name,
    pod_spec,
    pod_template_annotations,
    pod_template_labels,
    release_info,
    replicas,
    selector_labels,
    selects,
    track_of,
)
from involution_policies.nginx import NginxSyntaxError, mentions_upstream, upstreams
from involution_policies.props import (
    UNKNOWN,
    as_int,
    elements,
    entries,
    get,
    is_unknown,
    plain,
    string_map,
    text,
)
from involution_policies.release import WEIGHTS_SCHEMA, is_pinned_image


@dataclass(frozen=True)
class Obj:
    """A Kubernetes object of the stack, with what the checks look up."""

    kind: str
    props: Mapping[str, Any]
    urn: str
    name: str  # metadata.name, else the Pulumi name
    namespace: Any  # str, None or UNKNOWN

    @property
    def title(self) -> str:
        return object_name(self.kind, self.props, self.name)

    def same_namespace(self, other: Obj) -> bool:
        """Unknown namespaces (preview) are assumed equal rather than failing a check."""
        if is_unknown(self.namespace) or is_unknown(other.namespace):
            return True
        return bool(self.namespace == other.namespace)


def objects(resources: list[PolicyResource], *kinds: str) -> list[Obj]:
    found: list[Obj] = []
    for resource in resources:
        kind = kind_of(resource.resource_type)
        if kind is None or (kinds and kind not in kinds):
            continue
        name = text(get(resource.props, "metadata", "name")) or resource.name
        namespace = get(resource.props, "metadata", "namespace")
        found.append(Obj(kind, resource.props, resource.urn, name, namespace))
    return found


ENGINE_SCHEMA: Final[Schema] = {
    "engineName": {
        "type": "string",
        "default": "involution-engine",
        "description": "app.kubernetes.io/name of the engine Deployments",
    },
}


def engine_tracks(resources: list[PolicyResource], engine_name: str) -> dict[str, list[Obj]]:
    """Engine Deployments by track (`stable`, `canary`)."""
    tracks: dict[str, list[Obj]] = {}
    for obj in objects(resources, "Deployment"):
        labels = labels_of(obj.props) or pod_template_labels("Deployment", obj.props)
        if labels.get(NAME_LABEL) != engine_name and release_info(obj.props) is None:
            continue
        track = track_of(obj.props)
        if track:
            tracks.setdefault(track, []).append(obj)
    return tracks


def _image_of(obj: Obj) -> Any:
    found = containers(pod_spec(obj.kind, obj.props), include_init=False)
    return get(found[0].spec, "image") if found else None


TRAFFIC_SCHEMA: Final[Schema] = {
    **WEIGHTS_SCHEMA,
    **ENGINE_SCHEMA,
    "checksumAnnotation": {
        "type": "string",
        "default": "involution.dev/nginx-conf-sha256",
        "description": "router pod-template annotation holding sha256 of nginx.conf",
    },
}


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
    configmaps = objects(args.resources, "ConfigMap")
    routers: list[tuple[Obj, str, dict[str, int]]] = []
    for obj in configmaps:
        for _key, value in entries(get(obj.props, "data")):
            if not isinstance(value, str) or is_unknown(value):
                continue
            if not mentions_upstream(value, upstream_name):
                continue
            try:
                blocks = upstreams(value, upstream_name)
            except NginxSyntaxError:
                continue  # canary-traffic-weights reports it
            if blocks:
                weights: dict[str, int] = {}
                for server in blocks[0].servers:
                    if "backup" in server.flags:
                        continue  # failover only
                    track = hosts.get(server.host)
                    if track is not None and server.weight is not None:
                        weights[track] = weights.get(track, 0) + server.weight
                routers.append((obj, value, weights))
    if not routers:
        report(f"no ConfigMap declares the nginx upstream {upstream_name}", None)
        return
    if len(routers) > 1:
        names = ", ".join(obj.title for obj, _, _ in routers)
        report(
            f"{len(routers)} router configs declare {upstream_name} ({names}): expected one", None
        )
    router, conf, weights = routers[0]
    tracks = engine_tracks(args.resources, cfg.string("engineName"))
    services = objects(args.resources, "Service")

    for track in ("stable", "canary"):
        weight = weights.get(track, 0)
        deployments = tracks.get(track, [])
        for deployment in deployments:
            info = release_info(deployment.props)
            recorded = as_int(info.traffic_weight) if info else None
            if info is not None and info.traffic_weight is not None and recorded != weight:
                report(
                    f"{deployment.title} records traffic weight {info.traffic_weight} but "
                    f"{router.title} sends it {weight}",
                    deployment.urn,
                )
        if weight <= 0:
            continue
        if not deployments:
            report(
                f"{router.title} sends {weight}% to the {track} track, which has no Deployment",
                router.urn,
            )
            continue
        for deployment in deployments:
            count = replicas(deployment.props)
            if count is not UNKNOWN and count is not None and count < 1:
                report(
                    f"{deployment.title} has {count} replicas but receives {weight}% of traffic",
                    deployment.urn,
                )
        host = host_of[track]
        pods = pod_template_labels("Deployment", deployments[0].props)
        service = next((s for s in services if s.name == host and s.same_namespace(router)), None)
        if service is None:
            report(
                f"{router.title} sends {weight}% to {host}, but no Service {host} exists",
                router.urn,
            )
            continue
        selector = string_map(get(service.props, "spec", "selector"))
        if pods and selector and not selects(selector, pods):
            report(f"{service.title} does not select the {track} track's pods", service.urn)

    phases = {
        info.phase
        for objs in tracks.values()
        for obj in objs
        if (info := release_info(obj.props)) is not None and info.phase is not None
    }
    if len(phases) > 1:
        report(f"the engine tracks record different phases: {', '.join(sorted(phases))}", None)

    mounted = False
    undecided = is_unknown(get(router.props, "metadata", "name"))
    checksum_key = cfg.string("checksumAnnotation")
    digest = hashlib.sha256(conf.encode()).hexdigest()
    for deployment in objects(args.resources, *SCALED_KINDS):
        volumes = elements(get(pod_spec(deployment.kind, deployment.props), "volumes"))
        references = [get(volume, "configMap", "name") for volume in volumes]
        undecided = undecided or any(is_unknown(ref) for ref in references)
        if router.name not in references or not deployment.same_namespace(router):
            continue
        mounted = True
        checksum = pod_template_annotations(deployment.kind, deployment.props).get(checksum_key)
        if checksum is not None and checksum != digest:
            report(
                f"{deployment.title} carries {checksum_key}={checksum[:12]}... but "
                f"{router.title} hashes to {digest[:12]}...: its pods would not roll",
                deployment.urn,
            )
    if not mounted and not undecided:
        report(f"no Deployment mounts {router.title}: the split is not served", router.urn)


def rollback_target_ready(args: StackValidationArgs, report: ReportViolation) -> None:
    """A rollback target exists: the stable track is deployed, pinned, has capacity, differs
    from the canary, and every track records it as the rollback target.

    Rolling back moves traffic to the stable track in one config change; that only works if
    the stable pods are already running a known, pinned version other than the canary's.
    """
    cfg = config_of(args, ENGINE_SCHEMA)
    tracks = engine_tracks(args.resources, cfg.string("engineName"))
    stables, canaries = tracks.get("stable", []), tracks.get("canary", [])
    if not stables:
        if canaries:
            report("a canary is deployed without a stable track to roll back to", canaries[0].urn)
        elif tracks:
            report("no engine Deployment is labelled as the stable track", None)
        return
    stable = stables[0]
    stable_info = release_info(stable.props)
    stable_image = _image_of(stable)
    if not is_unknown(stable_image) and not is_pinned_image(stable_image):
        report(
            f"{stable.title} image {stable_image!r} is not pinned: no exact rollback", stable.urn
        )
    count = replicas(stable.props)
    if count is not UNKNOWN and count is not None and count < 1:
        report(f"{stable.title} has {count} replicas: nothing to roll back to", stable.urn)
    for canary in canaries:
        canary_info = release_info(canary.props)
        canary_image = _image_of(canary)
        if (
            isinstance(stable_image, str)
            and isinstance(canary_image, str)
            and not is_unknown(stable_image)
            and stable_image == canary_image
        ):
            report(
                f"{canary.title} runs the stable image {canary_image}: nothing to compare",
                canary.urn,
            )
        if (
            stable_info is not None
            and canary_info is not None
            and stable_info.version is not None
            and stable_info.version == canary_info.version
        ):
            report(f"stable and canary both record version {stable_info.version}", canary.urn)
    target = stable_info.version if stable_info else None
    for obj in stables + canaries:
        info = release_info(obj.props)
        if info is None or target is None:
            continue
        if info.rollback_target != target:
            report(
                f"{obj.title} records rollback target {info.rollback_target!r}; the stable "
                f"track runs {target}",
                obj.urn,
            )


def _ports(obj: Obj) -> list[Any]:
    found = containers(pod_spec(obj.kind, obj.props), include_init=False)
    port_sets = [
        sorted(
            (str(plain(get(port, "name"))), as_int(get(port, "containerPort")) or 0)
            for port in elements(get(c.spec, "ports"))
        )
        for c in found
    ]
    return port_sets


TRACKS_SCHEMA: Final[Schema] = {
    **ENGINE_SCHEMA,
    "stableHost": WEIGHTS_SCHEMA["stableHost"],
    "canaryHost": WEIGHTS_SCHEMA["canaryHost"],
}


def tracks_consistent(args: StackValidationArgs, report: ReportViolation) -> None:
    """The stable and canary tracks differ only in version: same app label, same ports, and
    distinct `track` selectors on their Deployments and Services.

    Comparing a canary that listens elsewhere or is labelled differently compares two
    different services; a shared selector would mix both tracks' pods in one Service.
    """
    cfg = config_of(args, TRACKS_SCHEMA)
    tracks = engine_tracks(args.resources, cfg.string("engineName"))
    if not tracks.get("stable") or not tracks.get("canary"):
        return
    stable, canary = tracks["stable"][0], tracks["canary"][0]
    stable_name = labels_of(stable.props).get(NAME_LABEL)
    canary_name = labels_of(canary.props).get(NAME_LABEL)
    if stable_name != canary_name:
        report(f"the tracks are labelled {stable_name!r} and {canary_name!r}", canary.urn)
    if _ports(stable) != _ports(canary):
        report(
            f"{canary.title} exposes ports {_ports(canary)}, stable {_ports(stable)}", canary.urn
        )
    selectors = [selector_labels(get(obj.props, "spec", "selector")) for obj in (stable, canary)]
    if all(s is not None for s in selectors):
        stable_sel, canary_sel = selectors[0] or {}, selectors[1] or {}
        if stable_sel.get(TRACK_LABEL) is None or stable_sel.get(TRACK_LABEL) == canary_sel.get(
            TRACK_LABEL
        ):
            report(
                f"the Deployments' selectors do not tell the tracks apart by `{TRACK_LABEL}` "
                f"({stable_sel} / {canary_sel})",
                canary.urn,
            )
    services = {s.name: s for s in objects(args.resources, "Service")}
    hosts = (cfg.string("stableHost"), cfg.string("canaryHost"))
    pair = [services.get(host) for host in hosts]
    if pair[0] is not None and pair[1] is not None:
        stable_svc, canary_svc = pair[0], pair[1]
        ports = [plain(get(s.props, "spec", "ports")) for s in (stable_svc, canary_svc)]
        if ports[0] != ports[1]:
            report(
                f"{canary_svc.title} ports {ports[1]} differ from stable's {ports[0]}",
                canary_svc.urn,
            )
        sels = [string_map(get(s.props, "spec", "selector")) for s in (stable_svc, canary_svc)]
        if sels[0].get(TRACK_LABEL) == sels[1].get(TRACK_LABEL):
            report(
                f"{stable_svc.title} and {canary_svc.title} select the same pods", canary_svc.urn
            )


PDB_SCHEMA: Final[Schema] = {
    "exemptNames": string_list("workload names (metadata.name) that need no budget", []),
}


def pod_disruption_budgets(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every Deployment and StatefulSet (each engine track included) is covered by a
    PodDisruptionBudget that still lets a node drain.

    Without a budget a node drain may evict every pod of a track at once; a budget of
    `maxUnavailable: 0` blocks drains for good, which stalls cluster upgrades instead.
    """
    cfg = config_of(args, PDB_SCHEMA)
    exempt = set(cfg.strings("exemptNames"))
    budgets = objects(args.resources, "PodDisruptionBudget")
    for budget in budgets:
        max_unavailable = get(budget.props, "spec", "maxUnavailable")
        if max_unavailable in (0, "0%") or as_int(max_unavailable) == 0:
            report(
                f"{budget.title} sets maxUnavailable 0: no node could ever be drained", budget.urn
            )
        min_available = get(budget.props, "spec", "minAvailable")
        if min_available == "100%":
            report(
                f"{budget.title} sets minAvailable 100%: no node could ever be drained", budget.urn
            )
    for workload in objects(args.resources, *SCALED_KINDS):
        if workload.name in exempt:
            continue
        pods = pod_template_labels(workload.kind, workload.props)
        if not pods:
            continue
        covered = False
        for budget in budgets:
            selector = selector_labels(get(budget.props, "spec", "selector"))
            if selector is None:
                covered = True  # unknown or expression selector: cannot judge, assume covered
                break
            if selector and selects(selector, pods) and budget.same_namespace(workload):
                covered = True
                break
        if not covered:
            report(f"no PodDisruptionBudget covers {workload.title}", workload.urn)


NETPOL_SCHEMA: Final[Schema] = {
    "redisLabels": {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "default": {NAME_LABEL: "redis"},
        "description": "labels of the Redis pods",
    },
    "allowedClients": string_list(
        "app.kubernetes.io/name of the pods that may reach Redis (empty: any pod selector)",
        ["involution-engine", "time-resolver"],
    ),
}


def _peer_problem(peer: Any, allowed: list[str]) -> str | None:
    """Why an ingress peer admits more than the allowed client pods, or None."""
    if not isinstance(peer, Mapping):
        return None
    if get(peer, "ipBlock") is not None:
        return "admits an ipBlock"
    if get(peer, "namespaceSelector") is not None:
        return "admits pods of other namespaces"
    labels = selector_labels(get(peer, "podSelector"))
    problem: str | None = None  # absent, unknown or matchExpressions selectors are not judged
    if labels is not None and not labels:
        problem = "admits every pod of the namespace"
    elif labels is not None and allowed and labels.get(NAME_LABEL) not in allowed:
        problem = f"admits {labels}, not one of {allowed}"
    return problem


def _restricts_ingress(policy: Obj) -> bool:
    """Kubernetes defaults policyTypes to [Ingress] when the field is absent."""
    types = get(policy.props, "spec", "policyTypes")
    if types is None or is_unknown(types):
        return True  # unknown during preview: let the selector decide
    return "Ingress" in [str(t) for t in elements(types)]


def redis_network_policy(args: StackValidationArgs, report: ReportViolation) -> None:
    """A NetworkPolicy selects the Redis pods and admits only the engine and resolver pods.

    Without one, every pod in the cluster can reach the cache and try its password; the
    policy makes the Service's ClusterIP reachable only by the clients that need it.
    """
    cfg = config_of(args, NETPOL_SCHEMA)
    redis_labels = cfg.labels("redisLabels")
    allowed = cfg.strings("allowedClients")
    policies = objects(args.resources, "NetworkPolicy")
    for workload in objects(args.resources, *SCALED_KINDS):
        pods = pod_template_labels(workload.kind, workload.props)
        if not redis_labels or not selects(redis_labels, pods):
            continue
        selecting: list[Obj] = []
        undecided = False  # a selector unknown during preview, or with matchExpressions
        for policy in policies:
            if not policy.same_namespace(workload) or not _restricts_ingress(policy):
                continue
            selector = selector_labels(get(policy.props, "spec", "podSelector"))
            if selector is None:
                undecided = True
            elif selects(selector, pods):
                selecting.append(policy)
        if not selecting:
            if not undecided:
                report(f"no NetworkPolicy restricts ingress to {workload.title}", workload.urn)
            continue
        guarding = selecting
        for policy in guarding:
            for rule in elements(get(policy.props, "spec", "ingress")):
                peers = get(rule, "from")
                if is_unknown(peers):
                    continue
                if not elements(peers):
                    report(f"{policy.title} has an ingress rule open to every source", policy.urn)
                    continue
                for peer in elements(peers):
                    problem = _peer_problem(peer, allowed)
                    if problem:
                        report(f"{policy.title} {problem}", policy.urn)


MONITORING_SCHEMA: Final[Schema] = {
    "requiredTracks": string_list("tracks that need alert rules", ["stable", "canary"]),
    "requireRollbackTrigger": {
        "type": "boolean",
        "default": True,
        "description": "require a canary alert labelled rollback=true (a rollback trigger)",
    },
}


def monitoring_rules_per_track(args: StackValidationArgs, report: ReportViolation) -> None:
    """A PrometheusRule carries alerts for both tracks (labels track=stable and track=canary),
    including at least one canary rollback trigger.

    The release process advances or rolls back on error rate, latency and accuracy per track;
    a track without alerts is a track nobody watches.
    """
    cfg = config_of(args, MONITORING_SCHEMA)
    rules = objects(args.resources, "PrometheusRule")
    if not rules:
        report("no PrometheusRule: no alert watches the release", None)
        return
    tracks: set[str] = set()
    rollback_trigger = False
    unknown = False
    for rule_set in rules:
        groups = get(rule_set.props, "spec", "groups")
        if is_unknown(groups):
            unknown = True
            continue
        for group in elements(groups):
            for rule in elements(get(group, "rules")):
                if not isinstance(rule, Mapping) or get(rule, "alert") is None:
                    continue
                labels = string_map(get(rule, "labels"))
                track = labels.get(TRACK_LABEL)
                if track:
                    tracks.add(track)
                if track == "canary" and labels.get("rollback") == "true":
                    rollback_trigger = True
    if unknown:
        return
    missing = [track for track in cfg.strings("requiredTracks") if track not in tracks]
    if missing:
        report(f"no alert is labelled track={', track='.join(missing)}", rules[0].urn)
    if cfg.flag("requireRollbackTrigger") and "canary" not in missing and not rollback_trigger:
        report('no canary alert is a rollback trigger (label rollback="true")', rules[0].urn)


POLICIES: Final = [
    stack_policy(
        "traffic-split-consistent",
        EnforcementLevel.MANDATORY,
        traffic_split_consistent,
        TRAFFIC_SCHEMA,
    ),
    stack_policy(
        "rollback-target-ready",
        EnforcementLevel.MANDATORY,
        rollback_target_ready,
        ENGINE_SCHEMA,
    ),
    stack_policy("tracks-consistent", EnforcementLevel.ADVISORY, tracks_consistent, TRACKS_SCHEMA),
    stack_policy(
        "pod-disruption-budgets",
        EnforcementLevel.MANDATORY,
        pod_disruption_budgets,
        PDB_SCHEMA,
    ),
    stack_policy(
        "redis-network-policy",
        EnforcementLevel.MANDATORY,
        redis_network_policy,
        NETPOL_SCHEMA,
    ),
    stack_policy(
        "monitoring-rules-per-track",
        EnforcementLevel.MANDATORY,
        monitoring_rules_per_track,
        MONITORING_SCHEMA,
    ),
]
