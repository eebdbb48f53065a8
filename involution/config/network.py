"""Network isolation settings: who may reach the router, where Prometheus runs, extra egress.

Defaults match kube-prometheus-stack: Prometheus pods labelled
`app.kubernetes.io/name: prometheus` in the namespace `monitoring`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from involution.config.reader import ConfigReader, ObjectReader
from involution.contract import DNS_LABEL

FIELDS = {
    "monitoringNamespace": "namespace of the Prometheus that scrapes the engines and the router",
    "monitoringPodLabels": "labels of the Prometheus pods",
    "ingressNamespace": "namespace allowed to reach the router's HTTP port (unset: anywhere)",
    "denyEgress": "default-deny egress (on in production): only DNS and the in-namespace flows",
    "engineEgress": "extra egress the engines need: [{cidr, port}]",
}
DEFAULT_MONITORING_NAMESPACE = "monitoring"
DEFAULT_MONITORING_POD_LABELS = {"app.kubernetes.io/name": "prometheus"}
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


@dataclass(frozen=True)
class EgressRule:
    """Traffic the engines may send outside the namespace: a CIDR and a TCP port."""

    cidr: str
    port: int


@dataclass(frozen=True)
class NetworkSettings:
    monitoring_namespace: str = DEFAULT_MONITORING_NAMESPACE
    monitoring_pod_labels: tuple[tuple[str, str], ...] = tuple(
        DEFAULT_MONITORING_POD_LABELS.items()
    )
    ingress_namespace: str | None = None
    deny_egress: bool = False
    engine_egress: tuple[EgressRule, ...] = ()


def read_network(reader: ConfigReader, *, production: bool) -> NetworkSettings:
    o = reader.fields("network", FIELDS)
    monitoring = _namespace(o, "monitoringNamespace", DEFAULT_MONITORING_NAMESPACE)
    ingress = _namespace(o, "ingressNamespace", None)
    return NetworkSettings(
        monitoring_namespace=monitoring or DEFAULT_MONITORING_NAMESPACE,
        monitoring_pod_labels=_labels(o, "monitoringPodLabels"),
        ingress_namespace=ingress,
        deny_egress=o.boolean("denyEgress", production),
        engine_egress=_egress(o),
    )


def _namespace(o: ObjectReader, name: str, default: str | None) -> str | None:
    value = o.text(name, default)
    if value is not None and not DNS_LABEL.match(value):
        o.problem(name, value, "a namespace name (a DNS-1123 label)")
        return default
    return value


def _labels(o: ObjectReader, name: str) -> tuple[tuple[str, str], ...]:
    raw: Any = o.record.get(name)
    if raw is None:
        return tuple(DEFAULT_MONITORING_POD_LABELS.items())
    valid = (
        isinstance(raw, dict)
        and raw
        and all(
            isinstance(k, str)
            and isinstance(v, str)
            and _LABEL_KEY.match(k)
            and _LABEL_VALUE.match(v)
            for k, v in raw.items()
        )
    )
    if not valid:
        o.problem(name, raw, "an object of Kubernetes label keys and values")
        return tuple(DEFAULT_MONITORING_POD_LABELS.items())
    return tuple(sorted(raw.items()))


def _egress(o: ObjectReader) -> tuple[EgressRule, ...]:
    raw: Any = o.record.get("engineEgress")
    if raw is None:
        return ()
    rules: list[EgressRule] = []
    entries = raw if isinstance(raw, list) else [raw]
    for entry in entries:
        rule = _egress_rule(entry)
        if rule is None:
            o.problem(
                "engineEgress",
                raw,
                "a list of {cidr, port}: an IPv4/IPv6 CIDR such as 10.20.0.0/16 and a TCP port",
            )
            return ()
        rules.append(rule)
    return tuple(rules)


def _egress_rule(entry: object) -> EgressRule | None:
    if not isinstance(entry, dict) or set(entry) != {"cidr", "port"}:
        return None
    cidr, port = entry["cidr"], entry["port"]
    try:
        network = ipaddress.ip_network(str(cidr), strict=False)
        number = int(port)
    except ValueError:
        return None
    if isinstance(port, bool) or not 1 <= number <= 65535:
        return None
    return EgressRule(cidr=str(network), port=number)
