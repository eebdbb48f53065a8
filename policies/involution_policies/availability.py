"""Availability: enough pods run, each is probed, a node drain cannot take a track down, and
the rollout can always go back: a stable track to roll back to, and a canary that differs from
it only in version.

`container-probes` and `minimum-replicas` judge each workload alone; `pod-disruption-budgets`,
`rollback-target-ready` and `tracks-consistent` judge the whole stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)

from involution_policies.config import (
    Schema,
    config_of,
    resource_policy,
    stack_policy,
    string_list,
)
from involution_policies.images import is_pinned_image
from involution_policies.kube import (
    BATCH_KINDS,
    SCALED_KINDS,
    annotations_of,
    containers,
    kind_of,
    labels_of,
    pod_spec,
    pod_template_labels,
    release_info,
    replicas,
    selector_labels,
    selects,
    workload_spec,
)
from involution_policies.names import ANNOTATION_PREFIX, NAME_LABEL, REDIS_NAME, TRACK_LABEL
from involution_policies.props import UNKNOWN, as_int, elements, get, is_unknown, plain, string_map
from involution_policies.resources import ENGINE_SCHEMA, Obj, engine_tracks, image_of, objects
from involution_policies.traffic import WEIGHTS_SCHEMA, Problem

PROBES_SCHEMA: Final[Schema] = {
    "requireLiveness": {
        "type": "boolean",
        "default": True,
        "description": "require a liveness probe besides the readiness probe",
    },
}


def container_probes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every long-running container has a readiness and a liveness probe, and they differ.

    Readiness gates traffic (and `pulumi up` waits on it); liveness restarts a hung process.
    Identical probes restart a pod that is merely busy instead of taking it out of rotation.
    """
    workload = workload_spec(args.resource_type, args.props)
    if workload is None or workload[0] in BATCH_KINDS:
        return
    cfg = config_of(args, PROBES_SCHEMA)
    for container in containers(workload[1], include_init=False):
        readiness = get(container.spec, "readinessProbe")
        liveness = get(container.spec, "livenessProbe")
        if readiness is None:
            report(f"{container.label} has no readiness probe", None)
        if liveness is None and cfg.flag("requireLiveness"):
            report(f"{container.label} has no liveness probe", None)
        if (
            isinstance(readiness, Mapping)
            and isinstance(liveness, Mapping)
            and plain(readiness) == plain(liveness)
        ):
            report(
                f"{container.label} uses the same probe for readiness and liveness: "
                "a slow pod would be restarted instead of taken out of the Service",
                None,
            )


REPLICAS_SCHEMA: Final[Schema] = {
    "minReplicas": {
        "type": "integer",
        "minimum": 0,
        "default": 2,
        "description": "replicas every Deployment/StatefulSet runs at least",
    },
    "minReplicasByName": {
        "type": "object",
        "additionalProperties": {"type": "integer", "minimum": 0},
        "default": {},
        "description": "per app.kubernetes.io/name minimums, e.g. {involution-engine: 3}",
    },
    "exemptLabels": {
        "type": "array",
        "items": {"type": "object", "additionalProperties": {"type": "string"}},
        "default": [{NAME_LABEL: REDIS_NAME}],
        "description": "label sets of workloads that are single-replica by design",
    },
    "canaryLabels": {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "default": {TRACK_LABEL: "canary"},
        "description": "labels of the canary track, sized by the phase table instead",
    },
}


def minimum_replicas(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every Deployment and StatefulSet runs at least the environment's minimum replicas; a
    canary runs at least one pod while it has traffic.

    One pod is one node drain away from an outage. The canary is sized by the phase table (one
    pod at 10% is legitimate, none after a rollback) and the Redis cache is a single replica by
    design, so both are judged differently (see `exemptLabels`, `canaryLabels`).
    """
    kind = kind_of(args.resource_type)
    if kind not in SCALED_KINDS:
        return
    count = replicas(args.props)
    if count is UNKNOWN or count is None:
        return
    cfg = config_of(args, REPLICAS_SCHEMA)
    labels = labels_of(args.props) or pod_template_labels(kind, args.props)
    if any(selects(exempt, labels) for exempt in cfg.label_sets("exemptLabels") if exempt):
        return
    canary = cfg.labels("canaryLabels")
    if canary and selects(canary, labels):
        weight = as_int(annotations_of(args.props).get(f"{ANNOTATION_PREFIX}traffic-weight"))
        if (weight is None or weight > 0) and count < 1:
            report(f"the canary serves traffic (weight {weight}) with {count} replicas", None)
        return
    name = labels.get(NAME_LABEL, "")
    minimum = cfg.int_map("minReplicasByName").get(name, cfg.integer("minReplicas"))
    if count < minimum:
        report(f"{name or args.name} runs {count} replica(s); the minimum here is {minimum}", None)


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
    stable_image = image_of(stable)
    if not is_unknown(stable_image) and not is_pinned_image(stable_image):
        report(
            f"{stable.title} image {stable_image!r} is not pinned: no exact rollback", stable.urn
        )
    count = replicas(stable.props)
    if count is not UNKNOWN and count is not None and count < 1:
        report(f"{stable.title} has {count} replicas: nothing to roll back to", stable.urn)
    for canary in canaries:
        canary_info = release_info(canary.props)
        canary_image = image_of(canary)
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


def container_ports(obj: Obj) -> list[Any]:
    """(name, containerPort) pairs of each main container of a workload, sorted."""
    found = containers(pod_spec(obj.kind, obj.props), include_init=False)
    return [
        sorted(
            (str(plain(get(port, "name"))), as_int(get(port, "containerPort")) or 0)
            for port in elements(get(c.spec, "ports"))
        )
        for c in found
    ]


TRACKS_SCHEMA: Final[Schema] = {
    **ENGINE_SCHEMA,
    "stableHost": WEIGHTS_SCHEMA["stableHost"],
    "canaryHost": WEIGHTS_SCHEMA["canaryHost"],
}


def _check_track_services(stable_svc: Obj, canary_svc: Obj) -> list[Problem]:
    problems: list[Problem] = []
    ports = [plain(get(s.props, "spec", "ports")) for s in (stable_svc, canary_svc)]
    if ports[0] != ports[1]:
        problems.append(
            (f"{canary_svc.title} ports {ports[1]} differ from stable's {ports[0]}", canary_svc.urn)
        )
    sels = [string_map(get(s.props, "spec", "selector")) for s in (stable_svc, canary_svc)]
    if sels[0].get(TRACK_LABEL) == sels[1].get(TRACK_LABEL):
        problems.append(
            (f"{stable_svc.title} and {canary_svc.title} select the same pods", canary_svc.urn)
        )
    return problems


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
    if container_ports(stable) != container_ports(canary):
        report(
            f"{canary.title} exposes ports {container_ports(canary)}, "
            f"stable {container_ports(stable)}",
            canary.urn,
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
    stable_svc = services.get(cfg.string("stableHost"))
    canary_svc = services.get(cfg.string("canaryHost"))
    if stable_svc is not None and canary_svc is not None:
        for message, urn in _check_track_services(stable_svc, canary_svc):
            report(message, urn)


POLICIES: Final = [
    resource_policy(
        "container-probes", EnforcementLevel.MANDATORY, container_probes, PROBES_SCHEMA
    ),
    resource_policy(
        "minimum-replicas", EnforcementLevel.MANDATORY, minimum_replicas, REPLICAS_SCHEMA
    ),
    stack_policy(
        "rollback-target-ready",
        EnforcementLevel.MANDATORY,
        rollback_target_ready,
        ENGINE_SCHEMA,
    ),
    stack_policy(
        "pod-disruption-budgets",
        EnforcementLevel.MANDATORY,
        pod_disruption_budgets,
        PDB_SCHEMA,
    ),
    stack_policy("tracks-consistent", EnforcementLevel.ADVISORY, tracks_consistent, TRACKS_SCHEMA),
]
