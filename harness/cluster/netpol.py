"""Kubernetes NetworkPolicy semantics, evaluated: may this pod open a connection to that one?

What the API documents (networking.k8s.io/v1): a pod is isolated for a direction once a
policy of its namespace selects it with that direction in `policyTypes` (default: Ingress,
plus Egress when the policy has egress rules); then only the union of those policies' rules
admits traffic. A peer's `podSelector` alone means pods of the policy's namespace,
`namespaceSelector` alone every pod of the matching namespaces, both together the pods that
match in those namespaces, `ipBlock` addresses outside the pods. A rule without `from`/`to`
admits every peer, without `ports` every port. Named ports resolve against the destination
pod's container ports. A connection needs the source's egress and the destination's ingress.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Pod:
    """A pod (or, with `ip` only, a client outside the cluster)."""

    name: str
    namespace: str | None
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: Mapping[str, int] = field(default_factory=dict)  # container port name -> number
    ip: str = "10.0.0.1"


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector: matchLabels and matchExpressions; an empty selector selects all."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = set(expression.get("values") or [])
        present = key in labels
        if (
            (operator == "In" and (not present or labels[key] not in values))
            or (operator == "NotIn" and present and labels[key] in values)
            or (operator == "Exists" and not present)
            or (operator == "DoesNotExist" and present)
        ):
            return False
    return True


@dataclass
class Cluster:
    """Namespaces with their labels, pods, and the NetworkPolicy objects (as manifests)."""

    namespaces: Mapping[str, Mapping[str, str]]
    policies: Sequence[Mapping[str, Any]]

    def namespace_labels(self, name: str | None) -> Mapping[str, str]:
        if name is None:
            return {}
        return {"kubernetes.io/metadata.name": name, **self.namespaces.get(name, {})}

    def selecting(self, pod: Pod, direction: str) -> list[Mapping[str, Any]]:
        """The policies of the pod's namespace that isolate it in `direction`."""
        found = []
        for policy in self.policies:
            if policy["metadata"].get("namespace") != pod.namespace or pod.namespace is None:
                continue
            spec = policy["spec"]
            if direction in _policy_types(spec) and matches(spec.get("podSelector"), pod.labels):
                found.append(policy)
        return found

    def _peer_matches(self, peer: Mapping[str, Any], policy_ns: str, other: Pod) -> bool:
        if "ipBlock" in peer:
            block = peer["ipBlock"]
            address = ipaddress.ip_address(other.ip)
            inside = address in ipaddress.ip_network(block["cidr"])
            excepted = any(address in ipaddress.ip_network(e) for e in block.get("except") or [])
            return other.namespace is None and inside and not excepted
        if other.namespace is None:
            return False  # pod and namespace selectors only select pods
        namespace_selector = peer.get("namespaceSelector")
        if namespace_selector is not None:
            if not matches(namespace_selector, self.namespace_labels(other.namespace)):
                return False
        elif other.namespace != policy_ns:
            return False
        pod_selector = peer.get("podSelector")
        return pod_selector is None or matches(pod_selector, other.labels)

    def _admits(
        self, policies: Iterable[Mapping[str, Any]], key: str, other: Pod, port: int, target: Pod
    ) -> bool:
        peers_key = "from" if key == "ingress" else "to"
        for policy in policies:
            namespace = policy["metadata"]["namespace"]
            for rule in policy["spec"].get(key) or []:
                peers = rule.get(peers_key)
                if peers and not any(self._peer_matches(p, namespace, other) for p in peers):
                    continue
                if _port_matches(rule.get("ports"), port, target):
                    return True
        return False

    def allowed(self, source: Pod, destination: Pod, port: int) -> bool:
        """May `source` open a TCP connection to `destination` on `port`?"""
        egress = self.selecting(source, "Egress")
        if egress and not self._admits(egress, "egress", destination, port, destination):
            return False
        ingress = self.selecting(destination, "Ingress")
        return not ingress or self._admits(ingress, "ingress", source, port, destination)


def _policy_types(spec: Mapping[str, Any]) -> list[str]:
    types = spec.get("policyTypes")
    if types:
        return list(types)
    return ["Ingress", *(["Egress"] if spec.get("egress") else [])]


def _port_matches(ports: Sequence[Mapping[str, Any]] | None, port: int, target: Pod) -> bool:
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != "TCP":
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        number = target.ports.get(wanted) if isinstance(wanted, str) else int(wanted)
        if number is None:
            continue
        end = int(entry.get("endPort") or number)
        if number <= port <= end:
            return True
    return False
