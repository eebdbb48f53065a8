"""Redis: the cache is reachable only from the engine and resolver pods in the cluster.

`redis-not-exposed` judges the Redis Service alone; `redis-network-policy` judges the
NetworkPolicies that select the Redis pods, on the whole stack.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)

from involution_policies.config import (
    Schema,
    config_of,
    resource_policy,
    stack_policy,
    string_list,
)
from involution_policies.kube import (
    SCALED_KINDS,
    kind_of,
    labels_of,
    pod_template_labels,
    selector_labels,
    selects,
)
from involution_policies.names import NAME_LABEL, REDIS_CLIENTS, REDIS_NAME, REDIS_PORT
from involution_policies.props import as_int, elements, get, is_unknown, mapping, string_map
from involution_policies.resources import Obj, objects

REDIS_SCHEMA: Final[Schema] = {
    "redisLabels": {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "default": {NAME_LABEL: REDIS_NAME},
        "description": "selector labels of the Redis pods",
    },
    "redisPorts": {
        "type": "array",
        "items": {"type": "integer"},
        "default": [REDIS_PORT],
        "description": "ports that identify a Redis Service",
    },
}


def is_redis_service(
    props: Mapping[str, Any], cfg_labels: dict[str, str], ports: list[int]
) -> bool:
    """A Service that selects or is labelled as the Redis pods, or serves a Redis port."""
    selector = string_map(get(props, "spec", "selector"))
    if cfg_labels and all(selector.get(k) == v for k, v in cfg_labels.items()):
        return True
    if cfg_labels and all(labels_of(props).get(k) == v for k, v in cfg_labels.items()):
        return True
    for port in elements(get(props, "spec", "ports")):
        if as_int(get(port, "port")) in ports or as_int(get(port, "targetPort")) in ports:
            return True
    return False


def exposure(spec: Mapping[str, Any]) -> list[str]:
    """How a Service spec makes it reachable from outside the cluster."""
    found: list[str] = []
    service_type = get(spec, "type")
    if not is_unknown(service_type) and service_type not in (None, "ClusterIP"):
        found.append(f"the Redis Service is type {service_type}: only ClusterIP is allowed")
    if elements(get(spec, "externalIPs")):
        found.append("the Redis Service has externalIPs")
    found += [
        f"the Redis Service sets {field}"
        for field in ("loadBalancerIP", "loadBalancerSourceRanges")
        if get(spec, field)
    ]
    for port in elements(get(spec, "ports")):
        if get(port, "nodePort") is not None and not is_unknown(get(port, "nodePort")):
            found.append(f"the Redis Service opens nodePort {as_int(get(port, 'nodePort'))}")
    return found


def redis_not_exposed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The Redis Service is ClusterIP only: never LoadBalancer or NodePort, no externalIPs.

    The cache holds engine results and its password is the only lock; it must be reachable
    from the engine and resolver pods in the cluster and from nowhere else.
    """
    if kind_of(args.resource_type) != "Service":
        return
    cfg = config_of(args, REDIS_SCHEMA)
    if not is_redis_service(args.props, cfg.labels("redisLabels"), cfg.integers("redisPorts")):
        return
    for problem in exposure(mapping(get(args.props, "spec")) or {}):
        report(problem, None)


NETPOL_SCHEMA: Final[Schema] = {
    "redisLabels": {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "default": {NAME_LABEL: REDIS_NAME},
        "description": "labels of the Redis pods",
    },
    "allowedClients": string_list(
        "app.kubernetes.io/name of the pods that may reach Redis (empty: any pod selector)",
        REDIS_CLIENTS,
    ),
}


def peer_problem(peer: Any, allowed: list[str]) -> str | None:
    """Why an ingress peer admits more than the allowed client pods, or None."""
    if not isinstance(peer, Mapping):
        return None
    if get(peer, "ipBlock") is not None:
        return "admits an ipBlock"
    if get(peer, "namespaceSelector") is not None:
        return "admits pods of other namespaces"
    labels = selector_labels(get(peer, "podSelector"))
    problem: str | None = None  # absent, unknown or matchExpressions selectors are not judged
    if labels is not None and not labels:
        problem = "admits every pod of the namespace"
    elif labels is not None and allowed and labels.get(NAME_LABEL) not in allowed:
        problem = f"admits {labels}, not one of {allowed}"
    return problem


def restricts_ingress(policy: Obj) -> bool:
    """Kubernetes defaults policyTypes to [Ingress] when the field is absent."""
    types = get(policy.props, "spec", "policyTypes")
    if types is None or is_unknown(types):
        return True  # unknown during preview: let the selector decide
    return "Ingress" in [str(t) for t in elements(types)]


def selecting_policies(
    policies: list[Obj], workload: Obj, pods: dict[str, str]
) -> tuple[list[Obj], bool]:
    """(the ingress policies that select a workload's pods, whether one could not be judged:
    a selector unknown during preview, or with matchExpressions)."""
    selecting: list[Obj] = []
    undecided = False
    for policy in policies:
        if not policy.same_namespace(workload) or not restricts_ingress(policy):
            continue
        selector = selector_labels(get(policy.props, "spec", "podSelector"))
        if selector is None:
            undecided = True
        elif selects(selector, pods):
            selecting.append(policy)
    return selecting, undecided


def _open_ingress(policy: Obj, allowed: list[str]) -> list[str]:
    """What a policy's ingress rules admit beyond the allowed clients."""
    problems: list[str] = []
    for rule in elements(get(policy.props, "spec", "ingress")):
        peers = get(rule, "from")
        if is_unknown(peers):
            continue
        if not elements(peers):
            problems.append(f"{policy.title} has an ingress rule open to every source")
            continue
        for peer in elements(peers):
            problem = peer_problem(peer, allowed)
            if problem:
                problems.append(f"{policy.title} {problem}")
    return problems


def ingress_policies_of(
    resources: list[Any],
    pods_wanted: Callable[[dict[str, str]], bool],
    report: ReportViolation,
) -> Iterator[Obj]:
    """The ingress NetworkPolicies selecting each workload whose pods `pods_wanted`; a workload
    no policy selects is reported (one that cannot be judged in preview is not)."""
    policies = objects(resources, "NetworkPolicy")
    for workload in objects(resources, *SCALED_KINDS):
        pods = pod_template_labels(workload.kind, workload.props)
        if not pods_wanted(pods):
            continue
        selecting, undecided = selecting_policies(policies, workload, pods)
        if not selecting and not undecided:
            report(f"no NetworkPolicy restricts ingress to {workload.title}", workload.urn)
        yield from selecting


def redis_network_policy(args: StackValidationArgs, report: ReportViolation) -> None:
    """A NetworkPolicy selects the Redis pods and admits only the engine and resolver pods.

    Without one, every pod in the cluster can reach the cache and try its password; the
    policy makes the Service's ClusterIP reachable only by the clients that need it.
    """
    cfg = config_of(args, NETPOL_SCHEMA)
    redis_labels = cfg.labels("redisLabels")
    allowed = cfg.strings("allowedClients")

    def redis_pods(pods: dict[str, str]) -> bool:
        return bool(redis_labels) and selects(redis_labels, pods)

    for policy in ingress_policies_of(args.resources, redis_pods, report):
        for problem in _open_ingress(policy, allowed):
            report(problem, policy.urn)


POLICIES: Final = [
    resource_policy(
        "redis-not-exposed", EnforcementLevel.MANDATORY, redis_not_exposed, REDIS_SCHEMA
    ),
    stack_policy(
        "redis-network-policy",
        EnforcementLevel.MANDATORY,
        redis_network_policy,
        NETPOL_SCHEMA,
    ),
]
