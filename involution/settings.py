"""The stack config contract (namespace `involution:`), parsed once into frozen, typed objects.

Every problem is collected and raised as one ConfigError before any resource exists, so an
operator fixes all of them in one round instead of one per `pulumi up`.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from involution.config_alerting import AlertingSettings, read_alerting
from involution.config_image import ImageBuildSettings, read_image_build
from involution.config_monitoring import MonitoringSettings, read_monitoring
from involution.config_reader import ConfigReader
from involution.config_redis import RedisSettings, read_redis
from involution.errors import ConfigError
from involution.images import ImageRef, ImageRefError
from involution.phases import ALLOWED_PHASES, Phase, PhasePlan, plan_phase
from involution.versions import TAG_FORM, EngineVersion, ReleaseType, release_type

NAMESPACE = "involution"


class Environment(enum.Enum):
    """Policy strictness: production is the strict one."""

    DEV = "dev"
    STAGING = "staging"
    PRODUCTION = "production"


# Defaults are the same in every environment, so Pulumi.yaml and the program agree on them;
# environments differ in what they accept (minimums) and in their stack files.
DEFAULT_ENGINE_REPLICAS = 2
DEFAULT_ROUTER_REPLICAS = 2
DEFAULT_TIME_RESOLVER_REPLICAS = 2
# A single router pod is a single point of failure: only dev may run one.
MIN_ROUTER_REPLICAS: Mapping[Environment, int] = {
    Environment.DEV: 1,
    Environment.STAGING: 2,
    Environment.PRODUCTION: 2,
}

GATE_NAMES: tuple[str, ...] = (
    "codeQuality",
    "unitTests",
    "integrationTests",
    "accuracy",
    "security",
    "apiContract",
)
GATE_VALUES = ("passed", "failed")
APPROVAL_FIELDS = ("approvedBy", "ticket", "expiresAt")
# A major release needs "multiple stakeholder approval" (release process, Major Releases).
MAJOR_RELEASE_APPROVERS = 2

DEFAULT_NAMESPACE = "involution"
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
DEFAULT_IMAGE_REPOSITORY = "involution-engine"
DEFAULT_TIME_RESOLVER_REPOSITORY = "involution-time-resolver"
DEFAULT_TIME_RESOLVER_VERSION = "v1.0.0"
# nginx that runs as a non-root user on port 8080; pinned, never a floating tag.
DEFAULT_NGINX_IMAGE = "nginxinc/nginx-unprivileged:1.27.3-alpine"
# Manifests are validated against this version's schemas; policy/v1 PDBs and Pod Security
# Admission labels need 1.25 or later.
DEFAULT_KUBERNETES_VERSION = "1.35"
MIN_KUBERNETES_MINOR = 25
_KUBERNETES_VERSION = re.compile(r"^v?1\.(?P<minor>[0-9]{1,2})(?:\.[0-9]+)?$")


@dataclass(frozen=True)
class ConfigKey:
    """One key of the contract; `secret` keys never have their value shown in an error."""

    name: str
    description: str
    secret: bool = False


CONFIG_KEYS: tuple[ConfigKey, ...] = (
    ConfigKey("environment", "dev | staging | production: policy strictness and defaults"),
    ConfigKey("namespace", "Kubernetes namespace"),
    ConfigKey("stableVersion", "engine version serving the stable track"),
    ConfigKey("canaryVersion", "engine version under canary; newer than stableVersion"),
    ConfigKey("canaryPhase", "canary share of traffic: none | 10 | 50 | 100 | rollback"),
    ConfigKey("imageRepository", "engine image repository"),
    ConfigKey("engineReplicas", "stable capacity at 100% of traffic"),
    ConfigKey("approval", "human approval {approvedBy, ticket, expiresAt}"),
    ConfigKey("gates", "quality-gate results recorded by CI"),
    ConfigKey("redisPassword", "Redis auth", secret=True),
    ConfigKey("alerting", "Slack, email and PagerDuty routes"),
    ConfigKey("routerReplicas", "nginx traffic router replicas"),
    ConfigKey("nginxImage", "pinned nginx (unprivileged) image of the traffic router"),
    ConfigKey("timeResolverVersion", "time-resolver version"),
    ConfigKey("timeResolverRepository", "time-resolver image repository"),
    ConfigKey("timeResolverReplicas", "time-resolver replicas"),
    ConfigKey("renderDirectory", "render manifests to this folder instead of a cluster"),
    ConfigKey("kubeContext", "kubeconfig context of the target cluster"),
    ConfigKey("redisImage", "official redis image, pinned"),
    ConfigKey("redisMaxMemoryMb", "Redis maxmemory in MiB"),
    ConfigKey("redisEvictionPolicy", "Redis eviction policy fit for a cache"),
    ConfigKey("monitoring", "rollback-trigger thresholds and metric names"),
    ConfigKey("imageBuild", "build and push the engine image from a build context"),
    ConfigKey("kubernetesVersion", "Kubernetes minor version of the target cluster"),
)
KNOWN_KEYS = frozenset(k.name for k in CONFIG_KEYS)
SECRET_KEYS = frozenset(k.name for k in CONFIG_KEYS if k.secret)

# The form the policy pack's `ticketPattern` checks too: PROJECT-NUMBER.
_TICKET = re.compile(r"^[A-Z][A-Z0-9]*-[0-9]+$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class Approval:
    """A human approval that expires, as Argo/Flagger users keep asking for."""

    approved_by: tuple[str, ...]
    ticket: str
    expires_at: datetime

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def as_record(self) -> dict[str, Any]:
        return {
            "approvedBy": list(self.approved_by),
            "ticket": self.ticket,
            "expiresAt": self.expires_at.isoformat(),
        }


@dataclass(frozen=True)
class GateResults:
    """Results of the six quality gates; a gate CI has not reported is `None`."""

    results: tuple[tuple[str, str | None], ...]

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> GateResults:
        return cls(tuple((name, values.get(name)) for name in GATE_NAMES))

    def not_passed(self) -> tuple[str, ...]:
        return tuple(name for name, value in self.results if value != "passed")

    def as_record(self) -> dict[str, str]:
        return {name: value or "unreported" for name, value in self.results}


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
    target: ClusterTarget
    kubernetes_version: str
    redis: RedisSettings
    monitoring: MonitoringSettings
    alerting: AlertingSettings
    image_build: ImageBuildSettings | None
    warnings: tuple[str, ...] = field(default=())

    @property
    def plan(self) -> PhasePlan:
        return plan_phase(self.phase, self.engine_replicas)

    @property
    def rollback_target(self) -> EngineVersion:
        """Where traffic returns on rollback: always the stable track."""
        return self.stable_version


def parse_settings(raw: Mapping[str, str], *, stack: str, now: datetime) -> Settings:
    """Validate the raw config of one stack; raise one ConfigError listing every problem."""
    reader = ConfigReader(raw, SECRET_KEYS)
    warnings: list[str] = []
    _check_unknown_keys(reader)

    environment = reader.parsed(
        "environment",
        Environment,
        "one of dev, staging, production",
        Environment.DEV,
    )
    production = environment is Environment.PRODUCTION

    namespace = reader.text("namespace") or DEFAULT_NAMESPACE
    if not _DNS_LABEL.match(namespace):
        reader.problem("namespace", namespace, "a DNS-1123 label: lowercase a-z, 0-9 and '-'")
    elif namespace in SYSTEM_NAMESPACES:
        # The program creates and owns its namespace; these exist already and are shared.
        reader.problem(
            "namespace",
            namespace,
            f"a namespace of its own, not one of {', '.join(SYSTEM_NAMESPACES)}",
        )

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

    image_repository = _read_repository(reader, "imageRepository", DEFAULT_IMAGE_REPOSITORY)
    resolver_repository = _read_repository(
        reader, "timeResolverRepository", DEFAULT_TIME_RESOLVER_REPOSITORY
    )
    nginx_image = reader.image("nginxImage", DEFAULT_NGINX_IMAGE, "a version tag or a digest")

    engine_replicas = reader.integer("engineReplicas", DEFAULT_ENGINE_REPLICAS, 1)
    router_replicas = reader.integer(
        "routerReplicas",
        DEFAULT_ROUTER_REPLICAS,
        MIN_ROUTER_REPLICAS[environment],
        f" in {environment.value} (one router pod is a single point of failure)"
        if MIN_ROUTER_REPLICAS[environment] > 1
        else "",
    )
    resolver_replicas = reader.integer("timeResolverReplicas", DEFAULT_TIME_RESOLVER_REPLICAS, 1)

    resolver_version = reader.version("timeResolverVersion") or EngineVersion.parse(
        DEFAULT_TIME_RESOLVER_VERSION
    )
    if production and resolver_version.is_prerelease:
        reader.problem("timeResolverVersion", resolver_version.tag, "a release version vX.Y.Z")

    kind = release_type(stable, canary) if stable is not None else ReleaseType.NONE
    approval = _read_approval(reader)
    gates = _read_gates(reader)

    # Release checks guard traffic moving to a canary; a rollback must never be blocked by them.
    if phase.takes_traffic and kind.needs_approval:
        _check_approval(
            reader, approval, kind=kind, now=now, production=production, warnings=warnings
        )
    _check_gates(reader, gates, phase, production, warnings)

    target = ClusterTarget(
        render_directory=reader.text("renderDirectory") or None,
        kube_context=reader.text("kubeContext") or None,
    )

    kubernetes_version = reader.text("kubernetesVersion") or DEFAULT_KUBERNETES_VERSION
    version_match = _KUBERNETES_VERSION.match(kubernetes_version)
    if version_match is None or int(version_match.group("minor")) < MIN_KUBERNETES_MINOR:
        reader.problem(
            "kubernetesVersion",
            kubernetes_version,
            f"a Kubernetes version 1.{MIN_KUBERNETES_MINOR} or later, e.g. 1.35",
        )
    else:
        kubernetes_version = f"1.{int(version_match.group('minor'))}"

    redis = read_redis(
        reader,
        password_required=environment is not Environment.DEV,
        environment=environment.value,
    )
    if redis.password is None and environment is Environment.DEV:
        warnings.append(
            "redisPassword is not set: the dev Redis runs without auth "
            "(pulumi config set --secret involution:redisPassword <password>)"
        )
    monitoring = read_monitoring(reader)
    alerting = read_alerting(reader, production=production)
    image_build = read_image_build(reader, dev=environment is Environment.DEV, warnings=warnings)

    if reader.problems:
        raise ConfigError(reader.problems)
    assert stable is not None  # a missing stableVersion is a recorded problem above
    return Settings(
        stack=stack,
        environment=environment,
        namespace=namespace,
        stable_version=stable,
        canary_version=canary,
        phase=phase,
        release_type=kind,
        image_repository=image_repository,
        engine_replicas=engine_replicas,
        router_replicas=router_replicas,
        nginx_image=nginx_image,
        time_resolver_version=resolver_version,
        time_resolver_repository=resolver_repository,
        time_resolver_replicas=resolver_replicas,
        approval=approval,
        gates=gates or GateResults.from_mapping({}),
        target=target,
        kubernetes_version=kubernetes_version,
        redis=redis,
        monitoring=monitoring,
        alerting=alerting,
        image_build=image_build,
        warnings=tuple(warnings),
    )


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


def _read_approval(reader: ConfigReader) -> Approval | None:
    record = reader.json_object("approval")
    if record is None:
        return None
    bad = False
    unknown = sorted(set(record) - set(APPROVAL_FIELDS))
    if unknown:
        reader.problem("approval", dict(record), f"only the fields {', '.join(APPROVAL_FIELDS)}")
        bad = True
    approvers_raw = record.get("approvedBy")
    if isinstance(approvers_raw, str):
        approvers_raw = [approvers_raw]
    approvers: tuple[str, ...] = ()
    if (
        isinstance(approvers_raw, list)
        and approvers_raw
        and all(isinstance(a, str) and a.strip() for a in approvers_raw)
    ):
        approvers = tuple(dict.fromkeys(a.strip() for a in approvers_raw))
    else:
        reader.problem("approval.approvedBy", approvers_raw, "a name or a list of names")
        bad = True
    ticket = record.get("ticket")
    if not isinstance(ticket, str) or not _TICKET.match(ticket.strip()):
        reader.problem("approval.ticket", ticket, "a change ticket id such as CHG-2041")
        bad = True
    expires_raw = record.get("expiresAt")
    expires_at: datetime | None = None
    if isinstance(expires_raw, str):
        try:
            expires_at = datetime.fromisoformat(expires_raw)
        except ValueError:
            expires_at = None
    if expires_at is None or expires_at.tzinfo is None:
        reader.problem(
            "approval.expiresAt",
            expires_raw,
            "an ISO-8601 time with a zone, e.g. 2026-12-01T18:00:00Z",
        )
        bad = True
    if bad or expires_at is None or not isinstance(ticket, str):
        return None
    return Approval(approved_by=approvers, ticket=ticket.strip(), expires_at=expires_at)


def _check_approval(
    reader: ConfigReader,
    approval: Approval | None,
    *,
    kind: ReleaseType,
    now: datetime,
    production: bool,
    warnings: list[str],
) -> None:
    if approval is None:
        if production and reader.text("approval") is None:
            reader.problem(
                "approval",
                None,
                f"required in production for a {kind.value} canary: "
                "{approvedBy, ticket, expiresAt} (pulumi config set --path involution:approval.*)",
            )
        return
    issues: list[tuple[str, object, str]] = []
    if approval.is_expired(now):
        issues.append(
            (
                "approval.expiresAt",
                approval.expires_at.isoformat(),
                f"a time after now ({now.isoformat(timespec='seconds')}): the approval has expired",
            )
        )
    if kind is ReleaseType.MAJOR and len(approval.approved_by) < MAJOR_RELEASE_APPROVERS:
        issues.append(
            (
                "approval.approvedBy",
                list(approval.approved_by),
                f"at least {MAJOR_RELEASE_APPROVERS} distinct approvers for a major release",
            )
        )
    for key, value, allowed in issues:
        if production:
            reader.problem(key, value, allowed)
        else:
            warnings.append(f"involution:{key} = {value!r}: {allowed}")


def _check_gates(
    reader: ConfigReader,
    gates: GateResults | None,
    phase: Phase,
    production: bool,
    warnings: list[str],
) -> None:
    """Production ships only what passed all six gates; elsewhere a failure is a warning."""
    if phase is Phase.ROLLBACK:
        return  # a rollback is never blocked by the release it abandons
    if gates is None:
        if production and reader.text("gates") is None:
            reader.problem(
                "gates", None, f"required in production: {', '.join(GATE_NAMES)} each `passed`"
            )
        return
    failing = gates.not_passed()
    if production:
        recorded = dict(gates.results)
        for name in failing:
            reader.problem(
                f"gates.{name}",
                recorded[name],
                "`passed`: production ships only releases that passed all six quality gates",
            )
    elif failing:
        warnings.append(f"quality gates not passed: {', '.join(failing)}")


def _read_gates(reader: ConfigReader) -> GateResults | None:
    record = reader.json_object("gates")
    if record is None:
        return None
    values: dict[str, str] = {}
    ok = True
    for name, value in record.items():
        if name not in GATE_NAMES:
            reader.problem(f"gates.{name}", value, f"one of the gates {', '.join(GATE_NAMES)}")
            ok = False
        elif value not in GATE_VALUES:
            reader.problem(f"gates.{name}", value, "passed or failed")
            ok = False
        else:
            values[name] = value
    return GateResults.from_mapping(values) if ok else None
