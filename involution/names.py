"""The names, ports, labels and annotation keys the whole program shares: one home each.

nginx.conf, the components, the alert rules and the dashboards all refer to the same Services
and labels; defining them here keeps them from drifting apart. The policy pack keeps its own
copy on purpose (it judges the program's output independently); `tests/test_contract.py`
fails when the two disagree.
"""

from __future__ import annotations

from typing import Literal

Track = Literal["stable", "canary"]
TRACKS: tuple[Track, ...] = ("stable", "canary")

# Workload names (the `app.kubernetes.io/name` label and the Deployment/Service name).
ENGINE_NAME = "involution-engine"
ROUTER_NAME = "involution-router"
RESOLVER_NAME = "time-resolver"
REDIS_NAME = "redis"
REDIS_AUTH_SECRET = "involution-redis-auth"
REDIS_PASSWORD_KEY = "password"

# Ports.
ENGINE_PORT = 8080
ROUTER_PORT = 8080
ROUTER_STATUS_PORT = 9113
RESOLVER_PORT = 8080
REDIS_PORT = 6379

# The non-root user and group every pod runs as (and the stand-in images declare); the
# restricted Pod Security profile requires non-zero.
RUN_AS_USER = 10001

# nginx upstream of both tracks.
UPSTREAM_NAME = "involution_engine"

# Labels.
NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
PART_OF_LABEL = "app.kubernetes.io/part-of"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
VERSION_LABEL = "app.kubernetes.io/version"
TRACK_LABEL = "track"
ENGINE_VERSION_LABEL = "version"
PART_OF = "involution"
MANAGED_BY = "pulumi"

# Annotations: the release record on every engine Deployment, and the router's config checksum.
ANNOTATION_PREFIX = "involution.dev"
NGINX_CONF_CHECKSUM_ANNOTATION = f"{ANNOTATION_PREFIX}/nginx-conf-sha256"


def track_service_name(track: Track) -> str:
    """`engine-stable` / `engine-canary`: the names nginx's upstream and runbooks use."""
    return f"engine-{track}"


STABLE_SERVICE = track_service_name("stable")
CANARY_SERVICE = track_service_name("canary")


def annotation(key: str) -> str:
    """`involution.dev/<key>`: a release annotation."""
    return f"{ANNOTATION_PREFIX}/{key}"
