"""TimeResolver: the service the engine calls to resolve times, on its own pinned version."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.kubernetes_object import object_name
from components.workload import (
    HttpProbes,
    container_security_context,
    hardened_pod,
    recommended_labels,
    served_workload,
    tmp_mount,
    tmp_volume,
)
from involution.config.resources import RESOLVER_RESOURCES, ContainerResources
from involution.images import ImageRef
from involution.names import NAME_LABEL, RESOLVER_NAME, RESOLVER_PORT
from involution.versions import EngineVersion

RESOLVER_PROBES = HttpProbes(port="http", readiness_path="/readyz", liveness_path="/healthz")


def resolver_url() -> str:
    """The address the engine tracks are given for the resolver."""
    return f"http://{RESOLVER_NAME}:{RESOLVER_PORT}"


@dataclass(frozen=True)
class TimeResolverArgs:
    """Which resolver version runs, and how many of it."""

    version: EngineVersion
    repository: ImageRef
    replicas: int
    namespace: pulumi.Input[str]
    instance: str
    resources: ContainerResources = RESOLVER_RESOURCES


class TimeResolver(pulumi.ComponentResource):
    """Deployment, Service and PodDisruptionBudget of the time-resolver."""

    service_name: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: TimeResolverArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("involution:index:TimeResolver", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        selector = {NAME_LABEL: RESOLVER_NAME}
        labels = {
            **recommended_labels(
                name=RESOLVER_NAME,
                component="time-resolver",
                instance=args.instance,
                version=args.version.tag,
            ),
            "version": args.version.tag,
        }
        metadata = {"name": RESOLVER_NAME, "namespace": args.namespace, "labels": labels}
        container = {
            "name": RESOLVER_NAME,
            "image": str(args.repository.with_tag(args.version.tag)),
            "imagePullPolicy": "IfNotPresent",
            "ports": [{"name": "http", "containerPort": RESOLVER_PORT}],
            "readinessProbe": RESOLVER_PROBES.readiness(),
            "livenessProbe": RESOLVER_PROBES.liveness(),
            "resources": args.resources.as_spec(),
            "securityContext": container_security_context(),
            "volumeMounts": [tmp_mount()],
        }
        service = served_workload(
            name,
            metadata=metadata,
            selector=selector,
            replicas=args.replicas,
            template=hardened_pod(
                labels=labels, containers=[container], volumes=[tmp_volume()], spread=selector
            ),
            ports=[{"name": "http", "port": RESOLVER_PORT, "targetPort": "http"}],
            opts=child,
        ).service
        self.service_name = object_name(service)
        self.url = pulumi.Output.from_input(resolver_url())
        self.register_outputs({"service_name": self.service_name, "url": self.url})
