"""Kubernetes objects as the program registers them: by the provider's type token, from dicts.

pulumi_kubernetes's typed classes are generated per API group, and using one class of a group
imports all of it: core/v1's ~50 resource classes and hundreds of typed input classes cost
0.19 s of CPU, apps, networking and policy 0.06 s more, on every `pulumi up` and `preview`,
for seven kinds the program builds from plain dicts anyway (a quarter of the program's own
start). An object registered here is the one those classes register: the same type token,
`apiVersion` and `kind`, the fields as given, a Secret's data made secret the same way. State,
diffs, rendered manifests and the policy pack cannot tell them apart (tests/test_golden.py
holds every registration of the program; tests/test_kubernetes_object.py each kind against
its typed class).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi


@dataclass(frozen=True)
class Kind:
    """One kind of object: its type token in the Kubernetes provider and its API identity."""

    token: str
    api_version: str
    kind: str
    secret_fields: tuple[str, ...] = ()  # fields whose values are secret, inputs and outputs


NAMESPACE_KIND = Kind("kubernetes:core/v1:Namespace", "v1", "Namespace")
CONFIG_MAP = Kind("kubernetes:core/v1:ConfigMap", "v1", "ConfigMap")
SECRET = Kind("kubernetes:core/v1:Secret", "v1", "Secret", ("data", "stringData"))
SERVICE = Kind("kubernetes:core/v1:Service", "v1", "Service")
DEPLOYMENT = Kind("kubernetes:apps/v1:Deployment", "apps/v1", "Deployment")
POD_DISRUPTION_BUDGET = Kind(
    "kubernetes:policy/v1:PodDisruptionBudget", "policy/v1", "PodDisruptionBudget"
)
NETWORK_POLICY = Kind(
    "kubernetes:networking.k8s.io/v1:NetworkPolicy", "networking.k8s.io/v1", "NetworkPolicy"
)


def custom_kind(api_version: str, kind: str) -> Kind:
    """A custom resource's kind, with the token `pulumi_kubernetes.apiextensions.CustomResource`
    gives it (`kubernetes:<apiVersion>:<kind>`)."""
    return Kind(f"kubernetes:{api_version}:{kind}", api_version, kind)


class KubernetesObject(pulumi.CustomResource):
    """One object of `kind`; `fields` are its top-level fields beside metadata (spec, data,
    type, ...), camelCase as in a manifest."""

    metadata: pulumi.Output[Any]  # a dict, as the API server (or render mode) returns it

    def __init__(
        self,
        resource_name: str,
        kind: Kind,
        *,
        metadata: Mapping[str, Any],
        fields: Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "apiVersion": kind.api_version,
            "kind": kind.kind,
            "metadata": dict(metadata),
        }
        for field, value in (fields or {}).items():
            if value is not None:
                props[field] = pulumi.Output.secret(value) if field in kind.secret_fields else value
        if kind.secret_fields:
            secret = pulumi.ResourceOptions(additional_secret_outputs=list(kind.secret_fields))
            opts = pulumi.ResourceOptions.merge(opts, secret)
        super().__init__(kind.token, resource_name, props, opts)


def object_name(resource: KubernetesObject) -> pulumi.Output[str]:
    """metadata.name as the provider settled it (an auto-named object's generated name)."""
    return resource.metadata.apply(lambda metadata: str(metadata["name"]))
