"""TimeResolver: the service the engine calls to resolve times, on its own pinned version."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.workload import (
    HttpProbes,
    Resources,
    container_security_context,
    pod_security_context,
    recommended_labels,
    rolling_update,
    spread_across_nodes,
    tmp_mount,
    tmp_volume,
)
from involution.versions import EngineVersion

RESOLVER_NAME = "time-resolver"
RESOLVER_PORT = 8080
RESOLVER_RESOURCES = Resources(
    cpu_request="100m", memory_request="128Mi", cpu_limit="500m", memory_limit="256Mi"
)
RESOLVER_PROBES = HttpProbes(port="http", readiness_path="/readyz", liveness_path="/healthz")


def resolver_url() -> str:
    """The address the engine tracks are given for the resolver."""
    return f"http://{RESOLVER_NAME}:{RESOLVER_PORT}"


@dataclass(frozen=True)
class TimeResolverArgs:
    """Which resolver version runs, and how many of it."""

    version: EngineVersion
    repository: str
    replicas: int
    namespace: pulumi.Input[str]
    instance: str


class TimeResolver(pulumi.ComponentResource):
    """Deployment, Service and PodDisruptionBudget of the time-resolver."""

    service_name: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: TimeResolverArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("involution:index:TimeResolver", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        selector = {"app.kubernetes.io/name": RESOLVER_NAME}
        labels = {
            **recommended_labels(
                name=RESOLVER_NAME,
                component="time-resolver",
                instance=args.instance,
                version=args.version.tag,
            ),
            "version": args.version.tag,
        }
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={"name": RESOLVER_NAME, "namespace": args.namespace, "labels": labels},
            spec={
                "replicas": args.replicas,
                "revisionHistoryLimit": 5,
                "minReadySeconds": 5,
                "selector": {"matchLabels": selector},
                "strategy": rolling_update(),
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": pod_security_context(),
                        "topologySpreadConstraints": spread_across_nodes(selector),
                        "containers": [
                            {
                                "name": RESOLVER_NAME,
                                "image": f"{args.repository}:{args.version.tag}",
                                "imagePullPolicy": "IfNotPresent",
                                "ports": [{"name": "http", "containerPort": RESOLVER_PORT}],
                                "readinessProbe": RESOLVER_PROBES.readiness(),
                                "livenessProbe": RESOLVER_PROBES.liveness(),
                                "resources": RESOLVER_RESOURCES.as_spec(),
                                "securityContext": container_security_context(),
                                "volumeMounts": [tmp_mount()],
                            }
                        ],
                        "volumes": [tmp_volume()],
                    },
                },
            },
            opts=child,
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": RESOLVER_NAME, "namespace": args.namespace, "labels": labels},
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": RESOLVER_PORT, "targetPort": "http"}],
            },
            opts=child,
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata={"name": RESOLVER_NAME, "namespace": args.namespace, "labels": labels},
            spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}},
            opts=child,
        )
        self.service_name = service.metadata.apply(lambda m: m.name)
        self.url = pulumi.Output.from_input(resolver_url())
        self.register_outputs({"service_name": self.service_name, "url": self.url})
