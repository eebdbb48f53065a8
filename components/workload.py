"""Pod-level building blocks every workload of the program shares.

One place for the restricted security context, probes, labels and rollout strategy, so the
tracks, the router and the resolver cannot drift apart on what "hardened" means.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.kubernetes_object import (
    DEPLOYMENT,
    POD_DISRUPTION_BUDGET,
    SERVICE,
    KubernetesObject,
)
from involution.names import (
    COMPONENT_LABEL,
    INSTANCE_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    NAME_LABEL,
    PART_OF,
    PART_OF_LABEL,
    RUN_AS_USER,
    VERSION_LABEL,
)

TMP_VOLUME = "tmp"


@dataclass(frozen=True)
class HttpProbes:
    """Readiness and liveness on different paths and timings: a slow engine is taken out of
    the Service long before it is restarted."""

    port: str
    readiness_path: str
    liveness_path: str
    liveness_port: str | None = None

    def readiness(self) -> dict[str, Any]:
        return {
            "httpGet": {"path": self.readiness_path, "port": self.port},
            "initialDelaySeconds": 2,
            "periodSeconds": 5,
            "timeoutSeconds": 2,
            "failureThreshold": 2,
            "successThreshold": 1,
        }

    def liveness(self) -> dict[str, Any]:
        return {
            "httpGet": {"path": self.liveness_path, "port": self.liveness_port or self.port},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
            "timeoutSeconds": 3,
            "failureThreshold": 6,
            "successThreshold": 1,
        }


def recommended_labels(
    *, name: str, component: str, instance: str, version: str | None = None
) -> dict[str, str]:
    """The app.kubernetes.io/* labels dashboards and policies key on."""
    labels = {
        NAME_LABEL: name,
        INSTANCE_LABEL: instance,
        COMPONENT_LABEL: component,
        PART_OF_LABEL: PART_OF,
        MANAGED_BY_LABEL: MANAGED_BY,
    }
    if version is not None:
        labels[VERSION_LABEL] = version
    return labels


def pod_security_context() -> dict[str, Any]:
    """Pod Security Standard `restricted`, pod level."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "fsGroup": RUN_AS_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    """Pod Security Standard `restricted`, container level, plus a read-only root filesystem."""
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def rolling_update() -> dict[str, Any]:
    """Never take a ready pod away before its replacement is ready: no dropped requests."""
    return {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}


def spread_across_nodes(selector: Mapping[str, str]) -> list[dict[str, Any]]:
    """One node going down takes at most its share of a track; soft so small clusters schedule."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(selector)},
        },
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(selector)},
        },
    ]


def tmp_volume() -> dict[str, Any]:
    """A writable /tmp for a container whose root filesystem is read-only."""
    return {"name": TMP_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}


def tmp_mount() -> dict[str, Any]:
    return {"name": TMP_VOLUME, "mountPath": "/tmp"}


def hardened_pod(
    *,
    labels: Mapping[str, str],
    containers: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
    spread: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The pod template every workload shares: restricted security, no service-account token,
    time to drain on shutdown, spread over nodes when `spread` selects more than one pod."""
    metadata: dict[str, Any] = {"labels": dict(labels)}
    if annotations:
        metadata["annotations"] = dict(annotations)
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(),
        "terminationGracePeriodSeconds": 30,
        "containers": containers,
        "volumes": volumes,
    }
    if spread is not None:
        spec["topologySpreadConstraints"] = spread_across_nodes(spread)
    return {"metadata": metadata, "spec": spec}


def deployment_spec(
    *, replicas: int, selector: Mapping[str, str], template: dict[str, Any]
) -> dict[str, Any]:
    """Rolling updates that never drop below the ready capacity, with history to roll back."""
    return {
        "replicas": replicas,
        "revisionHistoryLimit": 5,
        "minReadySeconds": 5,
        "progressDeadlineSeconds": 600,
        "selector": {"matchLabels": dict(selector)},
        "strategy": rolling_update(),
        "template": template,
    }


def cluster_service(
    name: str,
    *,
    metadata: Mapping[str, Any],
    selector: Mapping[str, str],
    ports: list[dict[str, Any]],
    opts: pulumi.ResourceOptions,
) -> KubernetesObject:
    """A ClusterIP Service: nothing of the release is exposed outside the cluster by itself."""
    return KubernetesObject(
        name,
        SERVICE,
        metadata=metadata,
        fields={"spec": {"type": "ClusterIP", "selector": dict(selector), "ports": ports}},
        opts=opts,
    )


def disruption_budget(
    name: str,
    *,
    metadata: Mapping[str, Any],
    selector: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> KubernetesObject:
    """maxUnavailable 1: node drains go one pod at a time and are never blocked outright,
    which `minAvailable` would do to a single-replica workload."""
    return KubernetesObject(
        name,
        POD_DISRUPTION_BUDGET,
        metadata=metadata,
        fields={"spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(selector)}}},
        opts=opts,
    )


# `pulumi up` returns when the rollout of THIS generation is complete. The Kubernetes
# provider's built-in Deployment await (4.25) can take the status of the previous rollout,
# replayed by its informer, for the new one and return at once (seen on the local cluster's
# real node: the router still serving the old split when `up` returned). Its `waitFor`
# conditions ignore a status older than the object's generation. The controller's
# NewReplicaSetAvailable alone is not enough either: rolling back to an earlier ReplicaSet
# (a drift repaired) keeps the previous condition until the first pod moves, so the counts
# must match the declared replicas too (a count of 0 is left out of the status).
WAIT_FOR_ANNOTATION = "pulumi.com/waitFor"
ROLLOUT_COMPLETE = (
    'jsonpath={.status.conditions[?(@.type=="Progressing")].reason}=NewReplicaSetAvailable'
)


def rollout_complete(replicas: int) -> str:
    """The `waitFor` conditions of a Deployment of `replicas` pods, as a JSON array."""
    conditions = [ROLLOUT_COMPLETE]
    if replicas > 0:
        conditions += [
            f"jsonpath={{.status.{field}}}={replicas}"
            for field in ("replicas", "updatedReplicas", "availableReplicas")
        ]
    return json.dumps(conditions)


@dataclass(frozen=True)
class ServedWorkload:
    """A Deployment behind a ClusterIP Service of the same name, with its disruption budget."""

    deployment: KubernetesObject
    service: KubernetesObject
    disruption_budget: KubernetesObject


def served_workload(
    name: str,
    *,
    metadata: Mapping[str, Any],
    selector: Mapping[str, str],
    replicas: int,
    template: dict[str, Any],
    ports: list[dict[str, Any]],
    opts: pulumi.ResourceOptions,
    deployment_annotations: Mapping[str, str] | None = None,
    deployment_opts: pulumi.ResourceOptions | None = None,
) -> ServedWorkload:
    """The trio every workload of the program is: `<name>-deployment`, `<name>-service` and
    `<name>-pdb`, sharing metadata and selector so they cannot disagree on which pods."""
    deployment_metadata = dict(metadata)
    deployment_metadata["annotations"] = {
        **(deployment_annotations or {}),
        WAIT_FOR_ANNOTATION: rollout_complete(replicas),
    }
    deployment = KubernetesObject(
        f"{name}-deployment",
        DEPLOYMENT,
        metadata=deployment_metadata,
        fields={"spec": deployment_spec(replicas=replicas, selector=selector, template=template)},
        opts=deployment_opts or opts,
    )
    service = cluster_service(
        f"{name}-service", metadata=metadata, selector=selector, ports=ports, opts=opts
    )
    budget = disruption_budget(f"{name}-pdb", metadata=metadata, selector=selector, opts=opts)
    return ServedWorkload(deployment=deployment, service=service, disruption_budget=budget)
