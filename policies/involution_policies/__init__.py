"""Policies of the Involution release pack, one module per domain.

`images` (pinned images, no pre-releases), `approvals` (approvals and quality gates),
`freeze` (no step forward inside a release freeze window),
`traffic` (nginx weights, the split across tracks and Services), `secrets`, `redis`,
`availability` (replicas, probes, disruption budgets, rollback target), `hardening` (pod
security and sizing), `metadata` (namespaces and labels) and `monitoring`. Each exports
`POLICIES`; `props`, `kube`, `nginx`, `resources` and `config` read the engine's data for
them, and `names` holds the program's conventions the pack checks against.
"""

from __future__ import annotations

from typing import Final

from pulumi_policy import Policy

from involution_policies import (
    approvals,
    availability,
    freeze,
    hardening,
    images,
    metadata,
    monitoring,
    network,
    redis,
    secrets,
    traffic,
)

DOMAINS: Final = (
    images,
    approvals,
    freeze,
    traffic,
    hardening,
    availability,
    metadata,
    secrets,
    redis,
    network,
    monitoring,
)
POLICIES: Final[list[Policy]] = [policy for domain in DOMAINS for policy in domain.POLICIES]
