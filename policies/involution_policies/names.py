"""What the pack knows of the program's conventions, kept here on purpose.

The pack judges the program's output independently, so it holds its own copy of the names,
ports, labels and release rules the program follows (`involution/names.py`,
`involution/settings.py`) instead of importing them; `tests/test_contract.py` fails when the
two copies disagree. Each is the default of a policy config property, so an environment can
still override it in `config/<environment>.json`.
"""

from __future__ import annotations

from typing import Final

# Workloads, by their `app.kubernetes.io/name` label.
ENGINE_NAME: Final = "involution-engine"
RESOLVER_NAME: Final = "time-resolver"
REDIS_NAME: Final = "redis"
REDIS_CLIENTS: Final = (ENGINE_NAME, RESOLVER_NAME)

# The engine tracks, the Services nginx sends them traffic through, and its upstream.
TRACKS: Final = ("stable", "canary")
STABLE_SERVICE: Final = "engine-stable"
CANARY_SERVICE: Final = "engine-canary"
UPSTREAM_NAME: Final = "involution_engine"
REDIS_PORT: Final = 6379

# Labels and annotations.
NAME_LABEL: Final = "app.kubernetes.io/name"
INSTANCE_LABEL: Final = "app.kubernetes.io/instance"
COMPONENT_LABEL: Final = "app.kubernetes.io/component"
PART_OF_LABEL: Final = "app.kubernetes.io/part-of"
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
VERSION_LABEL: Final = "app.kubernetes.io/version"
TRACK_LABEL: Final = "track"
ANNOTATION_PREFIX: Final = "involution.dev/"
NGINX_CONF_CHECKSUM_ANNOTATION: Final = f"{ANNOTATION_PREFIX}nginx-conf-sha256"

# The release process: six quality gates, a change ticket per approval, and more than one
# approver for a major release.
GATE_NAMES: Final = (
    "codeQuality",
    "unitTests",
    "integrationTests",
    "accuracy",
    "security",
    "apiContract",
)
TICKET_PATTERN: Final = r"^[A-Z][A-Z0-9]*-[0-9]+$"
MAJOR_RELEASE_APPROVERS: Final = 2
# Canary shares (percent) of the phase table, and the phases in which the canary has traffic.
CANARY_WEIGHTS: Final = (0, 10, 50, 100)
TRAFFIC_PHASES: Final = ("shadow", "10", "50", "100")  # shadow: mirrored copies
# Steps of the release path that take traffic back from a canary (the program's
# `involution.release.path.Step`, recorded as `involution.dev/release-step`).
BACK_STEPS: Final = ("step-back", "rollback", "close", "downgrade")
# Steps that move traffic forward (`involution.release.path.FORWARD_STEPS`, and a stack's first
# deployment): refused inside a release freeze window unless an override with a ticket and
# FREEZE_OVERRIDE_APPROVERS distinct approvers (production) passes it.
FORWARD_STEPS: Final = ("start", "advance", "promote", "retry", "patch", "first-deployment")
FREEZE_OVERRIDE_APPROVERS: Final = 2
ROUTER_NAME: Final = "involution-router"
ENGINE_PORT: Final = 8080
MONITORING_NAMESPACE: Final = "monitoring"
NAMESPACE_NAME_LABEL: Final = "kubernetes.io/metadata.name"
