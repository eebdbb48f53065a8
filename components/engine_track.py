"""EngineTrack: one version of the engine behind a Service of a fixed name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

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
from involution.config.resources import ENGINE_RESOURCES, ContainerResources
from involution.names import (
    ENGINE_NAME,
    ENGINE_PORT,
    ENGINE_VERSION_LABEL,
    NAME_LABEL,
    TRACK_LABEL,
    Track,
    track_service_name,
)
from involution.versions import EngineVersion

ENGINE_PROBES = HttpProbes(port="http", readiness_path="/readyz", liveness_path="/healthz")


def track_selector(track: Track) -> dict[str, str]:
    """Selector labels: no version in it, so an upgrade rolls pods instead of orphaning them."""
    return {NAME_LABEL: ENGINE_NAME, TRACK_LABEL: track}


@dataclass(frozen=True)
class EngineTrackArgs:
    """One track of the engine at one version."""

    track: Track
    version: EngineVersion
    image: pulumi.Input[str]
    replicas: int
    namespace: pulumi.Input[str]
    instance: str
    release_annotations: Mapping[str, str]
    env: Mapping[str, str] = field(default_factory=dict)
    # Env from Kubernetes Secrets: name -> (secret name, key). Never a literal value.
    secret_env: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    resources: ContainerResources = ENGINE_RESOURCES
    probes: HttpProbes = ENGINE_PROBES
    # Resources that must be updated first, e.g. the router before a canary scales to 0.
    wait_for: Sequence[pulumi.Resource] = field(default_factory=tuple)


class EngineTrack(pulumi.ComponentResource):
    """Deployment, Service and PodDisruptionBudget of one engine track."""

    service_name: pulumi.Output[str]
    deployment_name: pulumi.Output[str]
    replicas: pulumi.Output[int]
    version: pulumi.Output[str]

    def __init__(
        self, name: str, args: EngineTrackArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("involution:index:EngineTrack", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.wait_for))
        resource_name = track_service_name(args.track)
        selector = track_selector(args.track)
        labels = {
            **recommended_labels(
                name=ENGINE_NAME,
                component="engine",
                instance=args.instance,
                version=args.version.tag,
            ),
            TRACK_LABEL: args.track,
            ENGINE_VERSION_LABEL: args.version.tag,
        }
        env = [
            {"name": "INVOLUTION_TRACK", "value": args.track},
            {"name": "INVOLUTION_VERSION", "value": args.version.tag},
            *({"name": key, "value": value} for key, value in sorted(args.env.items())),
            *(
                {"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": item}}}
                for key, (secret, item) in sorted(args.secret_env.items())
            ),
        ]

        metadata = {"name": resource_name, "namespace": args.namespace, "labels": labels}
        container = {
            "name": "engine",
            "image": args.image,
            "imagePullPolicy": "IfNotPresent",
            "ports": [{"name": "http", "containerPort": ENGINE_PORT, "protocol": "TCP"}],
            "env": env,
            "readinessProbe": args.probes.readiness(),
            "livenessProbe": args.probes.liveness(),
            "resources": args.resources.as_spec(),
            "securityContext": container_security_context(),
            "volumeMounts": [tmp_mount()],
        }
        workload = served_workload(
            name,
            metadata=metadata,
            deployment_annotations=args.release_annotations,
            selector=selector,
            replicas=args.replicas,
            template=hardened_pod(
                labels=labels, containers=[container], volumes=[tmp_volume()], spread=selector
            ),
            ports=[{"name": "http", "port": ENGINE_PORT, "targetPort": "http", "protocol": "TCP"}],
            opts=child,
        )
        deployment, service = workload.deployment, workload.service

        self.service_name = object_name(service)
        self.deployment_name = object_name(deployment)
        self.replicas = pulumi.Output.from_input(args.replicas)
        self.version = pulumi.Output.from_input(args.version.tag)
        self.service = service
        self.register_outputs(
            {
                "service_name": self.service_name,
                "deployment_name": self.deployment_name,
                "replicas": self.replicas,
                "version": self.version,
            }
        )
