"""Redis: the engine's cache, reachable only from the engine tracks and the time-resolver."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi

from components.kubernetes_object import (
    CONFIG_MAP,
    NETWORK_POLICY,
    SECRET,
    KubernetesObject,
    object_name,
)
from components.secrets import secret_output
from components.workload import (
    container_security_context,
    hardened_pod,
    recommended_labels,
    served_workload,
    tmp_mount,
    tmp_volume,
)
from involution.config.redis import RedisSettings
from involution.config.resources import ContainerResources
from involution.names import ENGINE_NAME, NAME_LABEL, REDIS_NAME, REDIS_PORT, RESOLVER_NAME
from involution.names import REDIS_AUTH_SECRET as AUTH_SECRET_NAME
from involution.names import REDIS_PASSWORD_KEY as PASSWORD_KEY
from involution.redis_conf import (
    AUTH_INCLUDE_PATH,
    RedisConf,
    auth_conf,
    render_redis_conf,
)

AUTH_CONF_KEY = "auth.conf"
# Pods allowed to talk to Redis, by app.kubernetes.io/name.
CLIENT_APPS = (ENGINE_NAME, RESOLVER_NAME)


@dataclass(frozen=True)
class RedisConnection:
    """What a client pod needs: the address and, when auth is on, the Secret key to read."""

    address: str
    password_secret: str | None
    password_key: str = PASSWORD_KEY


@dataclass(frozen=True)
class RedisCacheArgs:
    """Cache sizing and auth; the password is a SecretText until it becomes Secret data."""

    settings: RedisSettings
    namespace: pulumi.Input[str]
    instance: str


class RedisCache(pulumi.ComponentResource):
    """Secret, ConfigMap (redis.conf), Deployment, Service, NetworkPolicy, PodDisruptionBudget."""

    address: pulumi.Output[str]
    config_sha256: pulumi.Output[str]
    redis_conf: pulumi.Output[str]

    def __init__(
        self, name: str, args: RedisCacheArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("involution:index:RedisCache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        selector = {NAME_LABEL: REDIS_NAME}
        tag = settings.image.label_version
        labels = recommended_labels(
            name=REDIS_NAME, component="cache", instance=args.instance, version=tag
        )
        conf_text = render_redis_conf(
            RedisConf(
                max_memory_mb=settings.max_memory_mb,
                eviction_policy=settings.eviction_policy,
                auth_include=AUTH_INCLUDE_PATH if settings.password else None,
            )
        )

        volumes: list[dict[str, object]] = [
            tmp_volume(),
            {"name": "data", "emptyDir": {"sizeLimit": f"{settings.max_memory_mb * 2}Mi"}},
        ]
        mounts: list[dict[str, object]] = [
            tmp_mount(),
            {"name": "data", "mountPath": "/data"},
            {
                "name": "redis-conf",
                "mountPath": "/etc/redis/redis.conf",
                "subPath": "redis.conf",
                "readOnly": True,
            },
        ]
        env: list[dict[str, object]] = []
        self.connection = RedisConnection(
            address=f"{REDIS_NAME}:{REDIS_PORT}",
            password_secret=AUTH_SECRET_NAME if settings.password else None,
        )
        if settings.password is not None:
            password = secret_output(settings.password)
            KubernetesObject(
                f"{name}-auth",
                SECRET,
                metadata={"name": AUTH_SECRET_NAME, "namespace": args.namespace, "labels": labels},
                fields={
                    "type": "Opaque",
                    "stringData": {
                        PASSWORD_KEY: password,
                        AUTH_CONF_KEY: password.apply(auth_conf),
                    },
                },
                opts=child,
            )
            volumes.append(
                {
                    "name": "auth",
                    "secret": {
                        "secretName": AUTH_SECRET_NAME,
                        "items": [{"key": AUTH_CONF_KEY, "path": AUTH_CONF_KEY}],
                        "defaultMode": 0o440,
                    },
                }
            )
            mounts.append(
                {"name": "auth", "mountPath": AUTH_INCLUDE_PATH.rsplit("/", 1)[0], "readOnly": True}
            )
            # redis-cli reads REDISCLI_AUTH: the probe authenticates without the password in argv.
            env.append(
                {
                    "name": "REDISCLI_AUTH",
                    "valueFrom": {"secretKeyRef": {"name": AUTH_SECRET_NAME, "key": PASSWORD_KEY}},
                }
            )

        config_map = KubernetesObject(
            f"{name}-conf",
            CONFIG_MAP,
            metadata={"namespace": args.namespace, "labels": labels},
            fields={"data": {"redis.conf": conf_text}},
            opts=child,
        )
        volumes.append(
            {
                "name": "redis-conf",
                "configMap": {"name": object_name(config_map)},
            }
        )
        memory_limit = f"{settings.container_memory_limit_mb}Mi"
        metadata = {"name": REDIS_NAME, "namespace": args.namespace, "labels": labels}
        container = {
            "name": REDIS_NAME,
            "image": str(settings.image),
            "imagePullPolicy": "IfNotPresent",
            # Straight to redis-server: the image entrypoint would chown.
            "command": ["redis-server", "/etc/redis/redis.conf"],
            "ports": [{"name": "redis", "containerPort": REDIS_PORT}],
            "env": env,
            "readinessProbe": {
                "exec": {"command": ["redis-cli", "ping"]},
                "initialDelaySeconds": 2,
                "periodSeconds": 5,
                "timeoutSeconds": 2,
                "failureThreshold": 2,
            },
            "livenessProbe": {
                "tcpSocket": {"port": "redis"},
                "initialDelaySeconds": 10,
                "periodSeconds": 10,
                "timeoutSeconds": 3,
                "failureThreshold": 6,
            },
            "resources": ContainerResources(
                cpu_request="100m",
                memory_request=memory_limit,
                cpu_limit="1",
                memory_limit=memory_limit,
            ).as_spec(),
            "securityContext": container_security_context(),
            "volumeMounts": mounts,
        }
        served_workload(
            name,
            metadata=metadata,
            selector=selector,
            replicas=1,  # a cache: a restart starts empty, nothing to keep in sync
            template=hardened_pod(labels=labels, containers=[container], volumes=volumes),
            ports=[{"name": "redis", "port": REDIS_PORT, "targetPort": "redis"}],
            opts=child,
        )
        KubernetesObject(
            f"{name}-network-policy",
            NETWORK_POLICY,
            metadata=metadata,
            fields={
                "spec": {
                    "podSelector": {"matchLabels": selector},
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [
                                {"podSelector": {"matchLabels": {NAME_LABEL: app}}}
                                for app in CLIENT_APPS
                            ],
                            "ports": [{"protocol": "TCP", "port": REDIS_PORT}],
                        }
                    ],
                }
            },
            opts=child,
        )
        self.address = pulumi.Output.from_input(self.connection.address)
        self.config_sha256 = pulumi.Output.from_input(
            hashlib.sha256(conf_text.encode()).hexdigest()
        )
        self.redis_conf = pulumi.Output.from_input(conf_text)
        self.register_outputs(
            {
                "address": self.address,
                "config_sha256": self.config_sha256,
                "redis_conf": self.redis_conf,
            }
        )
