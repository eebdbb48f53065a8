"""NetworkIsolation: default-deny, then each workload reachable only from its clients.

Ingress: the engines (both tracks) only from the router on the engine port and from
Prometheus on the same port (its metrics); the time-resolver only from the engines; the
router's HTTP port from anywhere (or one ingress namespace), its status port only from
Prometheus. Redis admits the engines and the resolver (RedisCache's own policy). With
`denyEgress` (production), egress is default-deny too: DNS and exactly those flows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.kubernetes_object import NETWORK_POLICY, KubernetesObject
from components.workload import recommended_labels
from involution.config.network import NetworkSettings
from involution.names import (
    ENGINE_NAME,
    ENGINE_PORT,
    NAME_LABEL,
    REDIS_NAME,
    REDIS_PORT,
    RESOLVER_NAME,
    RESOLVER_PORT,
    ROUTER_NAME,
    ROUTER_PORT,
    ROUTER_STATUS_PORT,
)

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
DNS_NAMESPACE = "kube-system"
DNS_POD_LABELS = {"k8s-app": "kube-dns"}
DNS_PORT = 53


@dataclass(frozen=True)
class NetworkIsolationArgs:
    network: NetworkSettings
    namespace: pulumi.Input[str]
    instance: str


def app(name: str) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": {NAME_LABEL: name}}}


def tcp(port: int | str) -> dict[str, Any]:
    return {"protocol": "TCP", "port": port}


def monitoring_peer(network: NetworkSettings) -> dict[str, Any]:
    """Prometheus pods in the monitoring namespace (both selectors: and, not or)."""
    return {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: network.monitoring_namespace}},
        "podSelector": {"matchLabels": dict(network.monitoring_pod_labels)},
    }


def ingress_rules(network: NetworkSettings) -> Mapping[str, tuple[str, list[dict[str, Any]]]]:
    """Policy name -> (the app it selects, its ingress rules)."""
    router_http: dict[str, Any] = {"ports": [tcp(ROUTER_PORT)]}
    if network.ingress_namespace is not None:
        router_http["from"] = [
            {
                "namespaceSelector": {
                    "matchLabels": {NAMESPACE_NAME_LABEL: network.ingress_namespace}
                }
            }
        ]
    prometheus = monitoring_peer(network)
    return {
        "engine-ingress": (
            ENGINE_NAME,
            [
                {"from": [app(ROUTER_NAME)], "ports": [tcp("http")]},
                {"from": [prometheus], "ports": [tcp(ENGINE_PORT)]},
            ],
        ),
        "time-resolver-ingress": (
            RESOLVER_NAME,
            [{"from": [app(ENGINE_NAME)], "ports": [tcp(RESOLVER_PORT)]}],
        ),
        "router-ingress": (
            ROUTER_NAME,
            [router_http, {"from": [prometheus], "ports": [tcp(ROUTER_STATUS_PORT)]}],
        ),
    }


def egress_rules(network: NetworkSettings) -> Mapping[str, tuple[str, list[dict[str, Any]]]]:
    """Policy name -> (the app it selects, its egress rules), under default-deny egress."""
    engine: list[dict[str, Any]] = [
        {"to": [app(RESOLVER_NAME)], "ports": [tcp(RESOLVER_PORT)]},
        {"to": [app(REDIS_NAME)], "ports": [tcp(REDIS_PORT)]},
        *(
            {"to": [{"ipBlock": {"cidr": rule.cidr}}], "ports": [tcp(rule.port)]}
            for rule in network.engine_egress
        ),
    ]
    return {
        "router-egress": (ROUTER_NAME, [{"to": [app(ENGINE_NAME)], "ports": [tcp(ENGINE_PORT)]}]),
        "engine-egress": (ENGINE_NAME, engine),
        "time-resolver-egress": (
            RESOLVER_NAME,
            [{"to": [app(REDIS_NAME)], "ports": [tcp(REDIS_PORT)]}],
        ),
    }


class NetworkIsolation(pulumi.ComponentResource):
    """The namespace's NetworkPolicies (Redis keeps its own, in RedisCache)."""

    policy_names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: NetworkIsolationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("involution:index:NetworkIsolation", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = recommended_labels(
            name="involution-network", component="network", instance=args.instance
        )
        names: list[str] = []

        def policy(policy_name: str, spec: dict[str, Any]) -> None:
            KubernetesObject(
                f"{name}-{policy_name}",
                NETWORK_POLICY,
                metadata={"name": policy_name, "namespace": args.namespace, "labels": labels},
                fields={"spec": spec},
                opts=child,
            )
            names.append(policy_name)

        policy("default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]})
        for policy_name, (selected, rules) in ingress_rules(args.network).items():
            policy(
                policy_name,
                {
                    "podSelector": {"matchLabels": {NAME_LABEL: selected}},
                    "policyTypes": ["Ingress"],
                    "ingress": rules,
                },
            )
        if args.network.deny_egress:
            policy("default-deny-egress", {"podSelector": {}, "policyTypes": ["Egress"]})
            policy(
                "dns-egress",
                {
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {
                                    "namespaceSelector": {
                                        "matchLabels": {NAMESPACE_NAME_LABEL: DNS_NAMESPACE}
                                    },
                                    "podSelector": {"matchLabels": DNS_POD_LABELS},
                                }
                            ],
                            "ports": [
                                {"protocol": "UDP", "port": DNS_PORT},
                                {"protocol": "TCP", "port": DNS_PORT},
                            ],
                        }
                    ],
                },
            )
            for policy_name, (selected, rules) in egress_rules(args.network).items():
                policy(
                    policy_name,
                    {
                        "podSelector": {"matchLabels": {NAME_LABEL: selected}},
                        "policyTypes": ["Egress"],
                        "egress": rules,
                    },
                )
        self.policy_names = pulumi.Output.from_input(names)
        self.register_outputs({"policy_names": self.policy_names})
