"""TrafficRouter: nginx splitting requests between the engine tracks by upstream weight."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi

from components.kubernetes_object import CONFIG_MAP, KubernetesObject, object_name
from components.workload import (
    HttpProbes,
    container_security_context,
    hardened_pod,
    recommended_labels,
    served_workload,
    tmp_mount,
    tmp_volume,
)
from involution.config.resources import ROUTER_RESOURCES, ContainerResources
from involution.images import ImageRef
from involution.names import (
    NAME_LABEL,
    NGINX_CONF_CHECKSUM_ANNOTATION,
    ROUTER_NAME,
    ROUTER_PORT,
    ROUTER_STATUS_PORT,
)
from involution.nginx.conf import (
    RouterSpec,
    config_checksum,
    render_nginx_conf,
)

CONFIG_KEY = "nginx.conf"
ROUTER_PROBES = HttpProbes(
    port="http", readiness_path="/healthz", liveness_path="/stub_status", liveness_port="status"
)


@dataclass(frozen=True)
class TrafficRouterArgs:
    """The split to serve and where nginx runs."""

    spec: RouterSpec
    image: ImageRef
    replicas: int
    namespace: pulumi.Input[str]
    instance: str
    resources: ContainerResources = ROUTER_RESOURCES
    # Resources to update before the router rolls (nginx resolves its upstream hosts at start).
    wait_for: Sequence[pulumi.Resource] = field(default_factory=tuple)


class TrafficRouter(pulumi.ComponentResource):
    """ConfigMap with nginx.conf, the nginx Deployment and its Service.

    The config checksum sits on the pod template, so a new split rolls the router and
    `pulumi up` returns only when pods serving the new weights are ready."""

    service_name: pulumi.Output[str]
    config_sha256: pulumi.Output[str]
    nginx_conf: pulumi.Output[str]

    def __init__(
        self, name: str, args: TrafficRouterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("involution:index:TrafficRouter", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        conf = render_nginx_conf(args.spec)
        checksum = config_checksum(conf)
        selector = {NAME_LABEL: ROUTER_NAME}
        labels = recommended_labels(
            name=ROUTER_NAME,
            component="router",
            instance=args.instance,
            version=args.image.label_version,
        )

        # Auto-named: every new split is a new ConfigMap, so pods never see a half-updated file.
        config_map = KubernetesObject(
            f"{name}-nginx-conf",
            CONFIG_MAP,
            metadata={"namespace": args.namespace, "labels": labels},
            fields={"data": {CONFIG_KEY: conf}},
            opts=child,
        )
        config_map_name = object_name(config_map)

        metadata = {"name": ROUTER_NAME, "namespace": args.namespace, "labels": labels}
        container = {
            "name": "nginx",
            "image": str(args.image),
            "imagePullPolicy": "IfNotPresent",
            # Bypass the image entrypoint scripts: they rewrite files under /etc/nginx, which
            # is read-only here.
            "command": ["nginx", "-g", "daemon off;"],
            "ports": [
                {"name": "http", "containerPort": ROUTER_PORT},
                {"name": "status", "containerPort": ROUTER_STATUS_PORT},
            ],
            "readinessProbe": ROUTER_PROBES.readiness(),
            "livenessProbe": ROUTER_PROBES.liveness(),
            # Let the Service drop this pod before nginx stops accepting.
            "lifecycle": {"preStop": {"exec": {"command": ["/bin/sh", "-c", "sleep 5"]}}},
            "resources": args.resources.as_spec(),
            "securityContext": container_security_context(),
            "volumeMounts": [
                tmp_mount(),
                {
                    "name": "nginx-conf",
                    "mountPath": "/etc/nginx/nginx.conf",
                    "subPath": CONFIG_KEY,
                    "readOnly": True,
                },
            ],
        }
        service = served_workload(
            name,
            metadata=metadata,
            selector=selector,
            replicas=args.replicas,
            template=hardened_pod(
                labels=labels,
                annotations={NGINX_CONF_CHECKSUM_ANNOTATION: checksum},
                containers=[container],
                volumes=[
                    tmp_volume(),
                    {"name": "nginx-conf", "configMap": {"name": config_map_name}},
                ],
                spread=selector,
            ),
            deployment_opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.wait_for)),
            ports=[
                {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
                {
                    "name": "status",
                    "port": ROUTER_STATUS_PORT,
                    "targetPort": "status",
                    "protocol": "TCP",
                },
            ],
            opts=child,
        ).service

        self.service_name = object_name(service)
        self.config_sha256 = pulumi.Output.from_input(checksum)
        self.nginx_conf = pulumi.Output.from_input(conf)
        self.register_outputs(
            {
                "service_name": self.service_name,
                "config_sha256": self.config_sha256,
                "nginx_conf": self.nginx_conf,
            }
        )
