"""Kubernetes shapes as Pulumi types them: `kubernetes:<group>/<version>:<Kind>` tokens, pod
specs at kind-specific paths, label selectors and the release annotations
the program writes on the engine Deployments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from involution_policies.names import ANNOTATION_PREFIX, TRACK_LABEL
from involution_policies.props import (
    UNKNOWN,
    as_int,
    elements,
    get,
    is_unknown,
    mapping,
    string_map,
    text,
)

# Kinds whose objects carry a pod template, and where it sits.
_POD_SPEC_PATHS: Final[Mapping[str, tuple[str, ...]]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
WORKLOAD_KINDS: Final = frozenset(_POD_SPEC_PATHS)
# Workloads that run to completion: no probes, no replica counts.
BATCH_KINDS: Final = frozenset({"Job", "CronJob"})
SCALED_KINDS: Final = frozenset({"Deployment", "StatefulSet", "ReplicaSet"})

# Objects that live outside any namespace.
CLUSTER_SCOPED_KINDS: Final = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "FlowSchema",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    }
)


def kind_of(resource_type: str) -> str | None:
    """`kubernetes:apps/v1:Deployment` -> `Deployment`; None for non-Kubernetes resources."""
    parts = resource_type.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes":
        return None
    return parts[2]


def labels_of(props: Mapping[str, Any]) -> dict[str, str]:
    return string_map(get(props, "metadata", "labels"))


def annotations_of(props: Mapping[str, Any]) -> dict[str, str]:
    return string_map(get(props, "metadata", "annotations"))


def object_name(kind: str, props: Mapping[str, Any], fallback: str) -> str:
    """`Deployment involution/engine-canary`, as an operator would look it up."""
    name = text(get(props, "metadata", "name")) or fallback
    namespace = text(get(props, "metadata", "namespace"))
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def pod_spec(kind: str, props: Mapping[str, Any]) -> Any:
    """The pod spec of a workload (a Mapping, UNKNOWN, or None)."""
    path = _POD_SPEC_PATHS.get(kind)
    return get(props, *path) if path else None


def pod_template_labels(kind: str, props: Mapping[str, Any]) -> dict[str, str]:
    path = _POD_SPEC_PATHS.get(kind)
    if not path:
        return {}
    return string_map(get(props, *path[:-1], "metadata", "labels"))


def pod_template_annotations(kind: str, props: Mapping[str, Any]) -> dict[str, str]:
    path = _POD_SPEC_PATHS.get(kind)
    if not path or kind == "Pod":
        return annotations_of(props) if kind == "Pod" else {}
    return string_map(get(props, *path[:-1], "metadata", "annotations"))


@dataclass(frozen=True)
class Container:
    """One container of a pod spec; `init` for init and ephemeral containers."""

    name: str
    spec: Mapping[str, Any]
    init: bool

    @property
    def label(self) -> str:
        return f'{"init container" if self.init else "container"} "{self.name}"'


def containers(spec: Any, *, include_init: bool = True) -> list[Container]:
    """The known containers of a pod spec; unknown entries are skipped (preview)."""
    fields = (
        ("containers", "initContainers", "ephemeralContainers") if include_init else ("containers",)
    )
    found: list[Container] = []
    for field in fields:
        for index, item in enumerate(elements(get(spec, field))):
            if isinstance(item, Mapping):
                name = text(get(item, "name")) or f"{field}[{index}]"
                found.append(Container(name=name, spec=item, init=field != "containers"))
    return found


def workload_spec(resource_type: str, props: Mapping[str, Any]) -> tuple[str, Any] | None:
    """(kind, pod spec) of a workload whose pod spec is known; None otherwise."""
    kind = kind_of(resource_type)
    if kind not in WORKLOAD_KINDS:
        return None
    spec = pod_spec(kind, props)
    if not isinstance(spec, Mapping):
        return None
    return kind, spec


def replicas(props: Mapping[str, Any]) -> Any:
    """Desired replicas: the Kubernetes default 1 when unset, UNKNOWN when unknown."""
    raw = get(props, "spec", "replicas")
    if raw is None:
        return 1
    if is_unknown(raw):
        return UNKNOWN
    return as_int(raw)


def selector_labels(value: Any) -> dict[str, str] | None:
    """matchLabels of a LabelSelector; None when it cannot be read as plain labels (unknown, or
    matchExpressions the checks here do not evaluate)."""
    selector = mapping(value)
    if selector is None:
        return None
    if get(selector, "matchExpressions"):
        return None
    raw = get(selector, "matchLabels")
    if is_unknown(raw):
        return None
    return string_map(raw)


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """A matchLabels selector selects a label set when every pair is in it."""
    return all(labels.get(key) == value for key, value in selector.items())


@dataclass(frozen=True)
class ReleaseInfo:
    """The release annotations of an engine Deployment (`involution.dev/*`)."""

    track: str | None
    version: str | None
    release_type: str | None
    phase: str | None
    traffic_weight: str | None
    approval: str | None
    gates: str | None
    rollback_target: str | None
    step: str | None = None
    override: str | None = None
    freeze: str | None = None
    step_at: str | None = None


def release_info(props: Mapping[str, Any]) -> ReleaseInfo | None:
    """None for objects the program did not annotate as an engine track."""
    annotations = annotations_of(props)
    if f"{ANNOTATION_PREFIX}track" not in annotations:
        return None

    def read(key: str) -> str | None:
        return annotations.get(ANNOTATION_PREFIX + key)

    return ReleaseInfo(
        track=read("track"),
        version=read("version"),
        release_type=read("release-type"),
        phase=read("phase"),
        traffic_weight=read("traffic-weight"),
        approval=read("approval"),
        gates=read("gates"),
        rollback_target=read("rollback-target"),
        step=read("release-step"),
        override=read("release-override"),
        freeze=read("freeze"),
        step_at=read("release-step-at"),
    )


def track_of(props: Mapping[str, Any]) -> str | None:
    """The engine track of a Deployment: its `track` label, else its release annotation."""
    track = labels_of(props).get(TRACK_LABEL)
    if track:
        return track
    info = release_info(props)
    return info.track if info else None
