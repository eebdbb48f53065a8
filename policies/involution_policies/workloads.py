"""Workload policies: every pod is sized, probed and locked down, and enough of them run.

They apply to anything with a pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet,
Job, CronJob, Pod) and to init containers as well as the main ones, where Kubernetes lets
those carry the setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs

from involution_policies.config import Schema, config_of, resource_policy, string_list
from involution_policies.kube import (
    ANNOTATION_PREFIX,
    BATCH_KINDS,
    CLUSTER_SCOPED_KINDS,
    NAME_LABEL,
    SCALED_KINDS,
    VERSION_LABEL,
    WORKLOAD_KINDS,
    Container,
    annotations_of,
    containers,
    kind_of,
    labels_of,
    parse_image,
    pod_spec,
    pod_template_labels,
    replicas,
    selects,
)
from involution_policies.props import (
    UNKNOWN,
    as_int,
    elements,
    get,
    is_unknown,
    plain,
    text,
)


def _workload(args: ResourceValidationArgs) -> tuple[str, Any] | None:
    """(kind, pod spec) of a workload whose pod spec is known; None otherwise."""
    kind = kind_of(args.resource_type)
    if kind not in WORKLOAD_KINDS:
        return None
    spec = pod_spec(kind, args.props)
    if not isinstance(spec, Mapping):
        return None
    return kind, spec


def _effective(container: Container, pod: Mapping[str, Any], key: str) -> Any:
    """A security setting as the kubelet applies it: the container's, else the pod's."""
    value = get(container.spec, "securityContext", key)
    return value if value is not None else get(pod, "securityContext", key)


RESOURCES_SCHEMA: Final[Schema] = {
    "requests": string_list("resources every container requests", ["cpu", "memory"]),
    "limits": string_list("resources every container is limited on", ["cpu", "memory"]),
}


def container_resources(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every container sets CPU and memory requests and limits.

    Requests let the scheduler place pods where they fit; limits keep one runaway container
    (a canary with a leak) from starving the stable track on the same node.
    """
    workload = _workload(args)
    if workload is None:
        return
    cfg = config_of(args, RESOURCES_SCHEMA)
    for container in containers(workload[1]):
        resources = get(container.spec, "resources")
        if is_unknown(resources):
            continue
        for section in ("requests", "limits"):
            values = get(resources, section)
            if is_unknown(values):
                continue
            missing = [
                name
                for name in cfg.strings(section)
                if get(values, name) is None or get(values, name) == ""
            ]
            if missing:
                report(f"{container.label} sets no {section} for {', '.join(missing)}", None)


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
    workload = _workload(args)
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


def run_as_non_root(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every container runs as a non-root user (`runAsNonRoot: true`, never UID 0).

    A process escaping a root container is root on the node; the namespace enforces the
    `restricted` Pod Security Standard, which rejects such pods at admission anyway.
    """
    workload = _workload(args)
    if workload is None:
        return
    pod = workload[1]
    for container in containers(pod):
        non_root = _effective(container, pod, "runAsNonRoot")
        user = as_int(_effective(container, pod, "runAsUser"))
        if is_unknown(non_root):
            continue
        if non_root is not True:
            report(f"{container.label} does not set runAsNonRoot: true", None)
        if user == 0:
            report(f"{container.label} runs as UID 0 (root)", None)


def read_only_root_filesystem(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every container mounts its root filesystem read-only.

    An attacker (or a bug) cannot change the binaries a container runs; what must be written
    goes to an explicit volume such as the in-memory /tmp the program mounts.
    """
    workload = _workload(args)
    if workload is None:
        return
    for container in containers(workload[1]):
        value = get(container.spec, "securityContext", "readOnlyRootFilesystem")
        if not is_unknown(value) and value is not True:
            report(f"{container.label} does not set readOnlyRootFilesystem: true", None)


PRIVILEGES_SCHEMA: Final[Schema] = {
    "allowedCapabilities": string_list(
        "capabilities a container may add back (the restricted profile allows only this one)",
        ["NET_BIND_SERVICE"],
    ),
}


def restricted_privileges(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No privileged container, no privilege escalation, every capability dropped (`drop:
    [ALL]`) and no host namespaces.

    These are the container-level rules of the `restricted` Pod Security Standard: a
    compromised engine process gets nothing beyond its own files.
    """
    workload = _workload(args)
    if workload is None:
        return
    pod = workload[1]
    cfg = config_of(args, PRIVILEGES_SCHEMA)
    allowed = {cap.upper() for cap in cfg.strings("allowedCapabilities")}
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if get(pod, field) is True:
            report(f"the pod shares the node's namespace ({field}: true)", None)
    for container in containers(pod):
        context = get(container.spec, "securityContext")
        if is_unknown(context):
            continue
        if get(context, "privileged") is True:
            report(f"{container.label} is privileged", None)
        escalation = get(context, "allowPrivilegeEscalation")
        if not is_unknown(escalation) and escalation is not False:
            report(f"{container.label} does not set allowPrivilegeEscalation: false", None)
        drop = get(context, "capabilities", "drop")
        if not is_unknown(drop):
            dropped = {str(cap).upper() for cap in elements(drop) if isinstance(cap, str)}
            if "ALL" not in dropped:
                report(f"{container.label} does not drop ALL capabilities", None)
        added = [
            str(cap)
            for cap in elements(get(context, "capabilities", "add"))
            if isinstance(cap, str) and cap.upper() not in allowed
        ]
        if added:
            report(f"{container.label} adds capabilities {', '.join(added)}", None)


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
        "default": [{NAME_LABEL: "redis"}],
        "description": "label sets of workloads that are single-replica by design",
    },
    "canaryLabels": {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "default": {"track": "canary"},
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


def no_default_namespace(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Namespaced Kubernetes objects name their namespace, and it is not `default`.

    Objects without a namespace land wherever the kubeconfig points; `default` mixes the
    release with everything else and escapes the namespace's restricted pod security.
    """
    kind = kind_of(args.resource_type)
    if kind is None or kind in CLUSTER_SCOPED_KINDS or kind.endswith(("Patch", "List")):
        return
    namespace = get(args.props, "metadata", "namespace")
    if is_unknown(namespace):
        return
    if namespace is None or namespace == "":
        report(f"{kind} {args.name} sets no namespace (it would use the provider's default)", None)
    elif namespace == "default":
        report(f"{kind} {args.name} is in the `default` namespace", None)


LABELS_SCHEMA: Final[Schema] = {
    "requiredLabels": string_list(
        "labels every workload and its pods carry",
        [
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/component",
            "app.kubernetes.io/part-of",
            "app.kubernetes.io/managed-by",
        ],
    ),
    "requireVersionLabel": {
        "type": "boolean",
        "default": True,
        "description": "require app.kubernetes.io/version, equal to the image tag",
    },
}


def recommended_labels(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Workloads and their pods carry the recommended `app.kubernetes.io/*` labels, and the
    version label equals the image tag it runs.

    Dashboards, alerts and these policies select by these labels; a version label that
    disagrees with the image misleads whoever reads it during an incident. An image pinned by
    digest has no tag: its version is taken from the release annotation, or not compared.
    """
    workload = _workload(args)
    if workload is None:
        return
    kind, pod = workload
    cfg = config_of(args, LABELS_SCHEMA)
    required = cfg.strings("requiredLabels")
    if cfg.flag("requireVersionLabel"):
        required = [*required, VERSION_LABEL]
    template_path = ("spec", "template", "metadata", "labels") if kind != "Pod" else ()
    for where, raw, labels in (
        ("metadata", get(args.props, "metadata", "labels"), labels_of(args.props)),
        ("pod template", get(args.props, *template_path), pod_template_labels(kind, args.props)),
    ):
        if is_unknown(raw) or (where == "pod template" and kind in ("Pod", "CronJob")):
            continue  # unknown during preview; a Pod is its own template; CronJobs nest deeper
        missing = [name for name in required if not labels.get(name)]
        if missing:
            report(f"{where} lacks labels {', '.join(missing)}", None)
    version = labels_of(args.props).get(VERSION_LABEL)
    if not version:
        return
    tags: set[str] = set()
    for container in containers(pod, include_init=False):
        image = text(get(container.spec, "image"))
        if image is None:
            return  # unknown image (e.g. built during this update): nothing to compare
        ref = parse_image(image)
        if ref.tag:
            tags.add(ref.tag)
        else:
            recorded = annotations_of(args.props).get(f"{ANNOTATION_PREFIX}version")
            if recorded:
                tags.add(recorded)
            else:
                return  # pinned by digest only: the tag cannot be known here
    if tags and version not in tags:
        report(f"{VERSION_LABEL}={version} but the image tag is {', '.join(sorted(tags))}", None)


POLICIES: Final = [
    resource_policy(
        "container-resources",
        EnforcementLevel.MANDATORY,
        container_resources,
        RESOURCES_SCHEMA,
    ),
    resource_policy(
        "container-probes", EnforcementLevel.MANDATORY, container_probes, PROBES_SCHEMA
    ),
    resource_policy("run-as-non-root", EnforcementLevel.MANDATORY, run_as_non_root),
    resource_policy(
        "read-only-root-filesystem", EnforcementLevel.MANDATORY, read_only_root_filesystem
    ),
    resource_policy(
        "restricted-privileges",
        EnforcementLevel.MANDATORY,
        restricted_privileges,
        PRIVILEGES_SCHEMA,
    ),
    resource_policy(
        "minimum-replicas", EnforcementLevel.MANDATORY, minimum_replicas, REPLICAS_SCHEMA
    ),
    resource_policy("no-default-namespace", EnforcementLevel.ADVISORY, no_default_namespace),
    resource_policy(
        "recommended-labels",
        EnforcementLevel.ADVISORY,
        recommended_labels,
        LABELS_SCHEMA,
    ),
]
