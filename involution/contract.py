"""The stack config contract (namespace `involution:`): its keys, environments and defaults.

Pulumi.yaml declares the same defaults (tests/test_project_file.py keeps them in step).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

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
KUBERNETES_VERSION = re.compile(r"^v?1\.(?P<minor>[0-9]{1,2})(?:\.[0-9]+)?$")


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
    ConfigKey("canaryPhase", "canary share of traffic: none | shadow | 10 | 50 | 100 | rollback"),
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
    ConfigKey(
        "resources",
        "container requests and limits: {engine|router|timeResolver: {requests|limits: {cpu, "
        "memory}}}",
    ),
    ConfigKey("renderDirectory", "render manifests to this folder instead of a cluster"),
    ConfigKey("kubeContext", "kubeconfig context of the target cluster"),
    ConfigKey("redisImage", "official redis image, pinned"),
    ConfigKey("redisMaxMemoryMb", "Redis maxmemory in MiB"),
    ConfigKey("redisEvictionPolicy", "Redis eviction policy fit for a cache"),
    ConfigKey("monitoring", "rollback-trigger thresholds and metric names"),
    ConfigKey("imageBuild", "build and push the engine image from a build context"),
    ConfigKey("kubernetesVersion", "Kubernetes minor version of the target cluster"),
    ConfigKey("soak", 'how long phases "10", "50", "100" stay live before the next step'),
    ConfigKey("releaseOverride", "{reason, approvedBy, ticket, expiresAt}: skip one soak"),
    ConfigKey(
        "releaseAdoption",
        "{reason, approvedBy, ticket, expiresAt}: take over the release the cluster runs",
    ),
    ConfigKey("promoteFrom", "the stack that must run a version as stable before this one"),
    ConfigKey("network", "who may reach what: monitoring namespace, ingress namespace, egress"),
    ConfigKey("releaseReason", "why the next step is taken; recorded in releaseLog"),
    ConfigKey(
        "freeze",
        "release freeze windows: [{from, to, reason}] (RFC 3339) or weekly "
        "`Fri 16:00 - Mon 08:00 Europe/Berlin`; steps forward refused inside",
    ),
    ConfigKey(
        "traffic", "{override, overrideHeader, stickyBy, mirrorPercent}: the router's controls"
    ),
)
KNOWN_KEYS = frozenset(k.name for k in CONFIG_KEYS)
SECRET_KEYS = frozenset(k.name for k in CONFIG_KEYS if k.secret)

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
