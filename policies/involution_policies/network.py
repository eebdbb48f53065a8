"""Network isolation: every workload pod is behind an ingress NetworkPolicy, and the engines
are reachable only through the router (plus Prometheus on the metrics port).

Without them any pod of the cluster can call `engine-canary:8080` directly, bypassing the
router and its weights, and a scanner reports every pod as admitted without a policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import EnforcementLevel, ReportViolation, StackValidationArgs

from involution_policies.config import Schema, config_of, stack_policy, string_list
from involution_policies.kube import selector_labels
from involution_policies.names import (
    ENGINE_NAME,
    ENGINE_PORT,
    MONITORING_NAMESPACE,
    NAME_LABEL,
    NAMESPACE_NAME_LABEL,
    ROUTER_NAME,
)
from involution_policies.props import elements, get, is_unknown
from involution_policies.redis import ingress_policies_of
from involution_policies.resources import Obj

COVERAGE_SCHEMA: Final[Schema] = {}


def workloads_network_isolated(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every workload's pods are selected by a NetworkPolicy that restricts ingress.

    A namespace's default-deny ingress policy (an empty podSelector) covers them all; a pod
    no policy selects accepts connections from anywhere in the cluster.
    """
    for _policy in ingress_policies_of(args.resources, lambda _pods: True, report):
        pass  # reporting the workloads no policy selects is all this check does


ENGINE_INGRESS_SCHEMA: Final[Schema] = {
    "engineName": {
        "type": "string",
        "default": ENGINE_NAME,
        "description": "app.kubernetes.io/name of the engine pods",
    },
    "routerName": {
        "type": "string",
        "default": ROUTER_NAME,
        "description": "app.kubernetes.io/name of the router pods, the engines' only client",
    },
    "monitoringNamespaces": string_list(
        "namespaces whose Prometheus may scrape the engines", [MONITORING_NAMESPACE]
    ),
    "metricsPorts": {
        "type": "array",
        "items": {"type": ["integer", "string"]},
        "default": [ENGINE_PORT, "http"],
        "description": "the engine ports Prometheus may reach (numbers or names)",
    },
}


def _port(value: Any) -> str:
    """A port as text, numbers as integers (the engine hands numbers over as floats)."""
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and float(value).is_integer()
    ):
        return str(int(value))
    return str(value)


def _namespace_peer_problem(selector: Any, rule_ports: list[Any], cfg: Any) -> str | None:
    labels = selector_labels(selector)
    namespace = (labels or {}).get(NAMESPACE_NAME_LABEL)
    if namespace not in cfg.strings("monitoringNamespaces"):
        return f"admits pods of namespaces {labels}, not a monitoring namespace"
    allowed = [_port(p) for p in cfg.value("metricsPorts")]
    if not rule_ports or any(_port(p) not in allowed for p in rule_ports):
        return f"admits the monitoring namespace on ports {rule_ports or 'all'}, not {allowed}"
    return None


def _peer_problem(peer: Any, rule_ports: list[Any], cfg: Any) -> str | None:
    """Why an ingress peer of an engine policy admits more than the router and Prometheus."""
    if not isinstance(peer, Mapping):
        return None
    if get(peer, "ipBlock") is not None:
        return "admits an ipBlock"
    namespace_selector = get(peer, "namespaceSelector")
    if namespace_selector is not None:
        return _namespace_peer_problem(namespace_selector, rule_ports, cfg)
    labels = selector_labels(get(peer, "podSelector"))
    if labels is not None and labels.get(NAME_LABEL) != cfg.string("routerName"):
        return f"admits {labels or 'every pod of the namespace'}, not the router"
    return None  # the router; or unknown in preview / matchExpressions: not judged


def _rule_problems(policy: Obj, cfg: Any) -> list[str]:
    problems: list[str] = []
    for rule in elements(get(policy.props, "spec", "ingress")):
        peers = get(rule, "from")
        if is_unknown(peers):
            continue
        ports = [get(p, "port") for p in elements(get(rule, "ports"))]
        if not elements(peers):
            problems.append(f"{policy.title} has an ingress rule open to every source")
            continue
        for peer in elements(peers):
            problem = _peer_problem(peer, ports, cfg)
            if problem:
                problems.append(f"{policy.title} {problem}")
    return problems


def engines_admit_only_router(args: StackValidationArgs, report: ReportViolation) -> None:
    """The engines (both tracks) admit only the router, and Prometheus on the metrics port.

    Traffic that reaches a track around the router escapes its weights, the canary's share
    and the rollback; only the router and the monitoring namespace may connect.
    """
    cfg = config_of(args, ENGINE_INGRESS_SCHEMA)
    engine = cfg.string("engineName")
    for policy in ingress_policies_of(
        args.resources, lambda p: p.get(NAME_LABEL) == engine, report
    ):
        for problem in _rule_problems(policy, cfg):
            report(problem, policy.urn)


POLICIES: Final = [
    stack_policy(
        "workloads-network-isolated",
        EnforcementLevel.MANDATORY,
        workloads_network_isolated,
        COVERAGE_SCHEMA,
    ),
    stack_policy(
        "engines-admit-only-router",
        EnforcementLevel.MANDATORY,
        engines_admit_only_router,
        ENGINE_INGRESS_SCHEMA,
    ),
]
