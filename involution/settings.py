"""Settings: the stack config parsed once into frozen, typed objects.

Every problem is collected and raised as one ConfigError before any resource exists, so an
operator fixes all of them in one round instead of one per `pulumi up`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field

from involution.config.alerting import AlertingSettings, read_alerting
from involution.config.freeze import read_freeze
from involution.config.image import ImageBuildSettings, read_image_build
from involution.config.monitoring import MonitoringSettings, read_monitoring
from involution.config.network import NetworkSettings, read_network
from involution.config.path import read_promote_from, read_release_override, read_soak
from involution.config.reader import ConfigReader
from involution.config.redis import RedisSettings, read_redis
from involution.config.release import (
    Approval,
    GateResults,
    read_approval,
    read_gates,
)
from involution.config.resources import ResourceSettings, read_resources
from involution.config.traffic import TrafficSettings, read_traffic
from involution.contract import (
    DEFAULT_ENGINE_REPLICAS,
    DEFAULT_IMAGE_REPOSITORY,
    DEFAULT_KUBERNETES_VERSION,
    DEFAULT_NAMESPACE,
    DEFAULT_NGINX_IMAGE,
    DEFAULT_ROUTER_REPLICAS,
    DEFAULT_TIME_RESOLVER_REPLICAS,
    DEFAULT_TIME_RESOLVER_REPOSITORY,
    DEFAULT_TIME_RESOLVER_VERSION,
    DNS_LABEL,
    KNOWN_KEYS,
    KUBERNETES_VERSION,
    MIN_KUBERNETES_MINOR,
    MIN_ROUTER_REPLICAS,
    SECRET_KEYS,
    SYSTEM_NAMESPACES,
    Environment,
)
from involution.errors import ConfigError
from involution.images import ImageRef, ImageRefError
from involution.phases import ALLOWED_PHASES, Phase, PhasePlan, plan_phase
from involution.release.freeze import FreezeCalendar
from involution.release.guard import ADOPTION_KEY
from involution.release.path import PathRules
from involution.versions import TAG_FORM, EngineVersion, ReleaseType, release_type


@dataclass(frozen=True)
class ClusterTarget:
    """Where manifests go: a folder (render mode, no cluster) or a kubeconfig context."""

    render_directory: str | None
    kube_context: str | None


@dataclass(frozen=True)
class Settings:
    """Everything the program needs, read once from stack config."""

    stack: str
    environment: Environment
    namespace: str
    stable_version: EngineVersion
    canary_version: EngineVersion | None
    phase: Phase
    release_type: ReleaseType
    image_repository: ImageRef
    engine_replicas: int
    router_replicas: int
    nginx_image: ImageRef
    time_resolver_version: EngineVersion
    time_resolver_repository: ImageRef
    time_resolver_replicas: int
    approval: Approval | None
    gates: GateResults
    path: PathRules
    target: ClusterTarget
    kubernetes_version: str
    redis: RedisSettings
    monitoring: MonitoringSettings
    network: NetworkSettings
    resources: ResourceSettings
    alerting: AlertingSettings
    image_build: ImageBuildSettings | None
    traffic: TrafficSettings = field(default=TrafficSettings())
    freeze: FreezeCalendar = field(default=FreezeCalendar())
    warnings: tuple[str, ...] = field(default=())

    @property
    def plan(self) -> PhasePlan:
        return plan_phase(self.phase, self.engine_replicas)

    @property
    def rollback_target(self) -> EngineVersion:
        """Where traffic returns on rollback: always the stable track."""
        return self.stable_version


def parse_settings(raw: Mapping[str, str], *, stack: str) -> Settings:
    """Validate the raw config of one stack; raise one ConfigError listing every problem."""
    reader = ConfigReader(raw, SECRET_KEYS)
    warnings: list[str] = []
    _check_unknown_keys(reader)
    environment = reader.parsed(
        "environment", Environment, "one of dev, staging, production", Environment.DEV
    )
    production = environment is Environment.PRODUCTION
    namespace = _read_namespace(reader)
    release = _read_release(reader, production=production)
    approval = read_approval(reader)
    gates = read_gates(reader)
    path = _read_path(reader, environment, stack)
    workloads = _read_workloads(reader, environment)
    target = ClusterTarget(
        render_directory=reader.text("renderDirectory") or None,
        kube_context=reader.text("kubeContext") or None,
    )
    kubernetes_version = _read_kubernetes_version(reader)
    redis = read_redis(
        reader, password_required=environment is not Environment.DEV, environment=environment.value
    )
    if redis.password is None and environment is Environment.DEV:
        warnings.append(
            "redisPassword is not set: the dev Redis runs without auth "
            "(pulumi config set --secret involution:redisPassword <password>)"
        )
    monitoring = read_monitoring(reader)
    network = read_network(reader, production=production)
    resources = read_resources(reader)
    alerting = read_alerting(reader, production=production)
    image_build = read_image_build(reader, dev=environment is Environment.DEV, warnings=warnings)
    traffic = read_traffic(reader, environment)
    freeze = read_freeze(reader)

    if reader.problems or release.stable is None:
        raise ConfigError(reader.problems)
    return Settings(
        stack=stack,
        environment=environment,
        namespace=namespace,
        stable_version=release.stable,
        canary_version=release.canary,
        phase=release.phase,
        release_type=release.kind,
        image_repository=workloads.image_repository,
        engine_replicas=workloads.engine_replicas,
        router_replicas=workloads.router_replicas,
        nginx_image=workloads.nginx_image,
        time_resolver_version=workloads.resolver_version,
        time_resolver_repository=workloads.resolver_repository,
        time_resolver_replicas=workloads.resolver_replicas,
        approval=approval,
        gates=gates or GateResults.from_mapping({}),
        path=path,
        target=target,
        kubernetes_version=kubernetes_version,
        redis=redis,
        monitoring=monitoring,
        network=network,
        resources=resources,
        alerting=alerting,
        image_build=image_build,
        traffic=traffic,
        freeze=freeze,
        warnings=tuple(warnings),
    )


@dataclass(frozen=True)
class _Release:
    """The versions and phase as configured (before the release path judges them)."""

    stable: EngineVersion | None
    canary: EngineVersion | None
    phase: Phase
    kind: ReleaseType


@dataclass(frozen=True)
class _Workloads:
    """Images and replica counts of every workload."""

    image_repository: ImageRef
    engine_replicas: int
    router_replicas: int
    nginx_image: ImageRef
    resolver_version: EngineVersion
    resolver_repository: ImageRef
    resolver_replicas: int


def _read_path(reader: ConfigReader, environment: Environment, stack: str) -> PathRules:
    return PathRules(
        soak=read_soak(reader, environment),
        override=read_release_override(reader, production=environment is Environment.PRODUCTION),
        promote_from=read_promote_from(reader, stack),
        reason=reader.text("releaseReason"),
        adoption=read_release_override(
            reader,
            production=environment is Environment.PRODUCTION,
            key=ADOPTION_KEY,
            purpose="why the release the cluster runs is taken over",
        ),
    )


def _read_namespace(reader: ConfigReader) -> str:
    namespace = reader.text("namespace") or DEFAULT_NAMESPACE
    if not DNS_LABEL.match(namespace):
        reader.problem("namespace", namespace, "a DNS-1123 label: lowercase a-z, 0-9 and '-'")
    elif namespace in SYSTEM_NAMESPACES:
        # The program creates and owns its namespace; these exist already and are shared.
        reader.problem(
            "namespace",
            namespace,
            f"a namespace of its own, not one of {', '.join(SYSTEM_NAMESPACES)}",
        )
    return namespace


def _read_release(reader: ConfigReader, *, production: bool) -> _Release:
    stable = reader.version("stableVersion")
    if stable is None and reader.text("stableVersion") is None:
        reader.problem("stableVersion", None, f"required: {TAG_FORM}")
    canary = reader.version("canaryVersion")
    phase = reader.parsed("canaryPhase", Phase, f"one of {ALLOWED_PHASES}", Phase.NONE)
    if stable is not None and canary is not None and not canary > stable:
        reader.problem(
            "canaryVersion", canary.tag, f"a version newer than stableVersion {stable.tag}"
        )
    if phase is not Phase.NONE and reader.text("canaryVersion") is None:
        reader.problem(
            "canaryPhase",
            phase.value,
            "`none` unless canaryVersion is set (set involution:canaryVersion first)",
        )
    if production:
        for key, version in (("stableVersion", stable), ("canaryVersion", canary)):
            if version is not None and version.is_prerelease:
                reader.problem(
                    key,
                    version.tag,
                    "a release version vX.Y.Z: pre-releases never reach production",
                )
    kind = release_type(stable, canary) if stable is not None else ReleaseType.NONE
    return _Release(stable=stable, canary=canary, phase=phase, kind=kind)


def _read_workloads(reader: ConfigReader, environment: Environment) -> _Workloads:
    minimum_routers = MIN_ROUTER_REPLICAS[environment]
    resolver_version = reader.version("timeResolverVersion") or EngineVersion.parse(
        DEFAULT_TIME_RESOLVER_VERSION
    )
    if environment is Environment.PRODUCTION and resolver_version.is_prerelease:
        reader.problem("timeResolverVersion", resolver_version.tag, "a release version vX.Y.Z")
    return _Workloads(
        image_repository=_read_repository(reader, "imageRepository", DEFAULT_IMAGE_REPOSITORY),
        engine_replicas=reader.integer("engineReplicas", DEFAULT_ENGINE_REPLICAS, 1),
        router_replicas=reader.integer(
            "routerReplicas",
            DEFAULT_ROUTER_REPLICAS,
            minimum_routers,
            f" in {environment.value} (one router pod is a single point of failure)"
            if minimum_routers > 1
            else "",
        ),
        nginx_image=reader.image("nginxImage", DEFAULT_NGINX_IMAGE, "an unprivileged nginx image"),
        resolver_version=resolver_version,
        resolver_repository=_read_repository(
            reader, "timeResolverRepository", DEFAULT_TIME_RESOLVER_REPOSITORY
        ),
        resolver_replicas=reader.integer("timeResolverReplicas", DEFAULT_TIME_RESOLVER_REPLICAS, 1),
    )


def _read_kubernetes_version(reader: ConfigReader) -> str:
    """`1.<minor>`: the schemas the manifests are checked against."""
    text = reader.text("kubernetesVersion") or DEFAULT_KUBERNETES_VERSION
    match = KUBERNETES_VERSION.match(text)
    if match is None or int(match.group("minor")) < MIN_KUBERNETES_MINOR:
        reader.problem(
            "kubernetesVersion",
            text,
            f"a Kubernetes version 1.{MIN_KUBERNETES_MINOR} or later, e.g. 1.35",
        )
        return DEFAULT_KUBERNETES_VERSION
    return f"1.{int(match.group('minor'))}"


def _check_unknown_keys(reader: ConfigReader) -> None:
    for key in sorted(reader.raw):
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(key, sorted(KNOWN_KEYS), n=1)
            hint = f"did you mean `{close[0]}`? " if close else ""
            reader.problem(
                key,
                reader.raw[key],
                f"not a key of the contract; {hint}known keys: " + ", ".join(sorted(KNOWN_KEYS)),
            )


def _read_repository(reader: ConfigReader, key: str, default: str) -> ImageRef:
    value = reader.text(key) or default
    try:
        return ImageRef.parse_repository(value)
    except ImageRefError:
        reader.problem(
            key,
            value,
            "an image repository such as registry.example.com/team/name, "
            "without tag or digest (the version supplies the tag)",
        )
        return ImageRef.parse_repository(default)
