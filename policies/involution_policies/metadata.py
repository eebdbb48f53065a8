"""Metadata: every object names a namespace other than `default`, and workloads carry the
recommended `app.kubernetes.io/*` labels with a version label that matches their image."""

from __future__ import annotations

from typing import Any, Final

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs

from involution_policies.config import Schema, config_of, resource_policy, string_list
from involution_policies.images import parse_image
from involution_policies.kube import (
    CLUSTER_SCOPED_KINDS,
    annotations_of,
    containers,
    kind_of,
    labels_of,
    pod_template_labels,
    workload_spec,
)
from involution_policies.names import (
    ANNOTATION_PREFIX,
    COMPONENT_LABEL,
    INSTANCE_LABEL,
    MANAGED_BY_LABEL,
    NAME_LABEL,
    PART_OF_LABEL,
    VERSION_LABEL,
)
from involution_policies.props import get, is_unknown, text


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
            NAME_LABEL,
            INSTANCE_LABEL,
            COMPONENT_LABEL,
            PART_OF_LABEL,
            MANAGED_BY_LABEL,
        ],
    ),
    "requireVersionLabel": {
        "type": "boolean",
        "default": True,
        "description": "require app.kubernetes.io/version, equal to the image tag",
    },
}


def image_versions(pod: Any, recorded: str | None) -> set[str] | None:
    """The versions a pod's main containers run: each image's tag, or the recorded release
    version for an image pinned by digest only; None when one cannot be known (an image built
    during this update, or a digest without a recorded version)."""
    tags: set[str] = set()
    for container in containers(pod, include_init=False):
        image = text(get(container.spec, "image"))
        if image is None:
            return None
        tag = parse_image(image).tag or recorded
        if not tag:
            return None
        tags.add(tag)
    return tags


def recommended_labels(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Workloads and their pods carry the recommended `app.kubernetes.io/*` labels, and the
    version label equals the image tag it runs.

    Dashboards, alerts and these policies select by these labels; a version label that
    disagrees with the image misleads whoever reads it during an incident. An image pinned by
    digest has no tag: its version is taken from the release annotation, or not compared.
    """
    workload = workload_spec(args.resource_type, args.props)
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
    recorded = annotations_of(args.props).get(f"{ANNOTATION_PREFIX}version")
    tags = image_versions(pod, recorded)
    if tags and version not in tags:
        report(f"{VERSION_LABEL}={version} but the image tag is {', '.join(sorted(tags))}", None)


POLICIES: Final = [
    resource_policy("no-default-namespace", EnforcementLevel.ADVISORY, no_default_namespace),
    resource_policy(
        "recommended-labels",
        EnforcementLevel.ADVISORY,
        recommended_labels,
        LABELS_SCHEMA,
    ),
]
