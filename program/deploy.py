"""The Pulumi program: config in, components out, outputs exported."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.canary_release import CanaryRelease, CanaryReleaseArgs
from components.kubernetes_object import NAMESPACE_KIND, KubernetesObject, object_name
from components.monitoring import Monitoring, MonitoringArgs
from components.network_isolation import NetworkIsolation, NetworkIsolationArgs
from components.redis_cache import RedisCache, RedisCacheArgs
from components.time_resolver import TimeResolver, TimeResolverArgs, resolver_url
from involution.commands import next_commands
from involution.contract import Environment
from involution.names import PART_OF, PART_OF_LABEL
from involution.release.state import log_records, rfc3339
from involution.settings import Settings
from program.runtime_config import check_cluster, read_release, read_settings


def kubernetes_provider(settings: Settings) -> k8s.Provider:
    """Render mode writes manifests to a folder (no cluster); otherwise a kubeconfig context.

    Always an empty kubeconfig, never the SDK's default (the path in KUBECONFIG), so the
    provider's inputs do not follow the shell's environment. Given a kubeconfig, the provider
    refuses it beside render mode, and on a cluster writes a copy of it, client key included,
    to a new temporary file on every start and never removes it (one per `pulumi up` or
    `preview`); without one it reads the same KUBECONFIG (or ~/.kube/config) itself."""
    target = settings.target
    if target.render_directory is not None:
        return k8s.Provider(
            "kubernetes", render_yaml_to_directory=target.render_directory, kubeconfig=""
        )
    return k8s.Provider("kubernetes", context=target.kube_context, kubeconfig="")


def engine_images(
    settings: Settings,
) -> tuple[pulumi.Input[str], pulumi.Input[str] | None]:
    """Stable and canary images. With a build context, the version being released (the canary,
    else stable) is built and pinned by digest; the other keeps its immutable version tag."""
    build = settings.image_build
    repository = settings.image_repository.in_registry(build.registry if build else None)
    stable: pulumi.Input[str] = str(repository.with_tag(settings.stable_version.tag))
    canary_version = settings.canary_version
    canary: pulumi.Input[str] | None = (
        str(repository.with_tag(canary_version.tag)) if canary_version else None
    )
    if build is None:
        return stable, canary
    # pulumi_docker costs a tenth of a second to import: only stacks that build an image pay.
    from components.engine_image import EngineImage, EngineImageArgs

    built = EngineImage(
        "engine-image",
        EngineImageArgs(
            build=build,
            repository=settings.image_repository,
            version=canary_version or settings.stable_version,
        ),
    )
    if canary_version is not None:
        return stable, built.image_ref
    return built.image_ref, canary


def deploy(now: datetime | None = None) -> dict[str, Any]:
    """Build every resource of the stack; returns the exported outputs. `now` is the clock the
    release checks use (tests freeze it; `pulumi up` passes none: the real time)."""
    settings = read_settings()  # raises StackConfigError before any resource exists
    check_cluster(settings)  # ... and so does a cluster that cannot take the stack
    checked = read_release(settings, now or datetime.now(UTC))  # ... and so does the path
    verdict = checked.verdict
    for warning in (*settings.warnings, *checked.warnings):
        pulumi.log.warn(warning)

    provider = kubernetes_provider(settings)
    namespace = KubernetesObject(
        "namespace",
        NAMESPACE_KIND,
        metadata={
            "name": settings.namespace,
            "labels": {
                PART_OF_LABEL: PART_OF,
                # Admission enforces what the components already do.
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
        opts=pulumi.ResourceOptions(provider=provider),
    )
    namespace_name = object_name(namespace)
    on_cluster = pulumi.ResourceOptions(providers=[provider])

    TimeResolver(
        "time-resolver",
        TimeResolverArgs(
            version=settings.time_resolver_version,
            repository=settings.time_resolver_repository,
            replicas=settings.time_resolver_replicas,
            namespace=namespace_name,
            instance=settings.stack,
            resources=settings.resources.time_resolver,
        ),
        opts=on_cluster,
    )
    NetworkIsolation(
        "network",
        NetworkIsolationArgs(
            network=settings.network, namespace=namespace_name, instance=settings.stack
        ),
        opts=on_cluster,
    )
    redis = RedisCache(
        "redis",
        RedisCacheArgs(settings=settings.redis, namespace=namespace_name, instance=settings.stack),
        opts=on_cluster,
    )
    connection = redis.connection
    canary = settings.canary_version
    stable_image, canary_image = engine_images(settings)
    commands = next_commands(settings, verdict.soak_until, now=now or datetime.now(UTC))
    release = CanaryRelease(
        "engine",
        CanaryReleaseArgs(
            plan=settings.plan,
            stable_version=settings.stable_version,
            canary_version=canary,
            release_type=settings.release_type,
            resources=settings.resources,
            stable_image=stable_image,
            canary_image=canary_image,
            namespace=namespace_name,
            instance=settings.stack,
            approval=settings.approval,
            gates=settings.gates,
            release_override=settings.path.override,
            expose_upstream=settings.environment is Environment.DEV,
            traffic=settings.traffic,
            release_step=verdict.log[-1].step if verdict.log else "first-deployment",
            freeze=tuple(settings.freeze.as_records()),
            # When the step was taken; with no releaseLog yet, when the phase began.
            release_step_at=rfc3339(verdict.log[-1].at if verdict.log else verdict.phase_since),
            router_image=settings.nginx_image,
            router_replicas=settings.router_replicas,
            engine_env={"TIME_RESOLVER_URL": resolver_url(), "REDIS_ADDR": connection.address},
            engine_secret_env=(
                {"REDIS_PASSWORD": (connection.password_secret, connection.password_key)}
                if connection.password_secret
                else {}
            ),
        ),
        opts=pulumi.ResourceOptions(providers=[provider], depends_on=[redis]),
    )
    if settings.monitoring.enabled:
        Monitoring(
            "monitoring",
            MonitoringArgs(
                monitoring=settings.monitoring,
                alerting=settings.alerting,
                namespace=namespace_name,
                namespace_name=settings.namespace,
                instance=settings.stack,
                rollback_command=commands.rollback,
            ),
            opts=on_cluster,
        )

    plan = settings.plan
    outputs: dict[str, Any] = {
        "environment": settings.environment.value,
        "namespace": settings.namespace,
        "phase": plan.phase.value,
        "stableWeight": plan.stable_weight,
        "canaryWeight": plan.canary_weight,
        "stableVersion": settings.stable_version.tag,
        "canaryVersion": canary.tag if canary else None,
        "releaseType": settings.release_type.value,
        "stableReplicas": plan.stable_replicas,
        "canaryReplicas": plan.canary_replicas,
        "rollbackTarget": settings.rollback_target.tag,
        "nginxConfSha256": release.nginx_conf_sha256,
        "nextCommands": commands.as_output(),
        "redisAddress": connection.address,
        "kubernetesVersion": settings.kubernetes_version,
        "phaseSince": rfc3339(verdict.phase_since),
        "soakUntil": rfc3339(verdict.soak_until) if verdict.soak_until else None,
        "releaseLog": log_records(verdict.log),
    }
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs
