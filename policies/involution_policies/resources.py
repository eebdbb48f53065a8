"""The stack's Kubernetes objects as the stack policies look them up.

The engine runs stack policies after every resource was analyzed (`AnalyzeStack`), on each
resource's final state. Each violation names the resource to fix; a missing resource is
reported against the stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pulumi_policy import PolicyResource

from involution_policies.config import Schema
from involution_policies.kube import (
    containers,
    kind_of,
    labels_of,
    object_name,
    pod_spec,
    pod_template_labels,
    release_info,
    track_of,
)
from involution_policies.names import ENGINE_NAME, NAME_LABEL
from involution_policies.props import get, is_unknown, text


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
    """The Kubernetes objects of the stack, of the given kinds (any kind when none)."""
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
        "default": ENGINE_NAME,
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


def image_of(obj: Obj) -> Any:
    """The image of a workload's first container (None when it has none)."""
    found = containers(pod_spec(obj.kind, obj.props), include_init=False)
    return get(found[0].spec, "image") if found else None
