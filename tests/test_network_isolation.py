"""The rendered NetworkPolicies as a reachability matrix, with Kubernetes' own semantics
(harness/cluster/netpol.py): every flow the release needs is allowed, every other one denied."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness.cluster.netpol import Cluster, Pod, matches
from harness.mockrun import MockRun
from tests.conftest import STACKS, canary_overrides, run_scenario

pytestmark = pytest.mark.unit

Runner = Callable[..., MockRun]


@pytest.fixture
def mocked() -> Runner:
    """Fresh runs: the session's shared cache may hold runs other tests edited."""
    return run_scenario


NS = "involution"
PROMETHEUS = Pod("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"})
OTHER_MONITORING_POD = Pod("grafana", "monitoring", {"app.kubernetes.io/name": "grafana"})
STRANGER = Pod("stranger", "default", {"app": "curl"})
KUBE_DNS = Pod("coredns", "kube-system", {"k8s-app": "kube-dns"}, {"dns": 53})
INTERNET = Pod("internet", None, ip="203.0.113.7")


def pods_of(run: MockRun) -> dict[str, Pod]:
    """One pod per Deployment of the run, with its template's labels and container ports."""
    pods: dict[str, Pod] = {}
    for deployment in run.of_kind("Deployment"):
        template: Any = deployment.inputs["spec"]["template"]
        ports = {
            p["name"]: int(p["containerPort"])
            for c in template["spec"]["containers"]
            for p in c.get("ports", [])
            if "name" in p
        }
        name = deployment.metadata["name"]
        pods[name] = Pod(name, NS, dict(template["metadata"]["labels"]), ports)
    return pods


def cluster_of(run: MockRun) -> Cluster:
    policies = [dict(r.inputs) for r in run.of_kind("NetworkPolicy")]
    return Cluster(namespaces={NS: {}, "monitoring": {}, "default": {}}, policies=policies)


ALLOWED = [
    ("internet", "involution-router", 8080),
    ("stranger", "involution-router", 8080),
    ("prometheus", "involution-router", 9113),
    ("involution-router", "engine-stable", 8080),
    ("involution-router", "engine-canary", 8080),
    ("prometheus", "engine-stable", 8080),
    ("prometheus", "engine-canary", 8080),
    ("engine-stable", "time-resolver", 8080),
    ("engine-canary", "time-resolver", 8080),
    ("engine-stable", "redis", 6379),
    ("engine-canary", "redis", 6379),
    ("time-resolver", "redis", 6379),
]
DENIED = [
    ("stranger", "engine-stable", 8080),
    ("stranger", "engine-canary", 8080),
    ("internet", "engine-canary", 8080),
    ("grafana", "engine-stable", 8080),
    ("engine-stable", "engine-canary", 8080),
    ("engine-canary", "engine-stable", 8080),
    ("time-resolver", "engine-stable", 8080),
    ("redis", "engine-stable", 8080),
    ("involution-router", "redis", 6379),
    ("involution-router", "time-resolver", 8080),
    ("stranger", "time-resolver", 8080),
    ("stranger", "redis", 6379),
    ("internet", "involution-router", 9113),
    ("stranger", "involution-router", 9113),
    ("engine-stable", "involution-router", 9113),
    ("prometheus", "time-resolver", 8080),
    ("prometheus", "redis", 6379),
]


def endpoints(run: MockRun) -> dict[str, Pod]:
    outside = {p.name: p for p in (PROMETHEUS, OTHER_MONITORING_POD, STRANGER, INTERNET)}
    return {**outside, **pods_of(run)}


def matrix(run: MockRun) -> dict[tuple[str, str, int], bool]:
    cluster, pods = cluster_of(run), endpoints(run)
    return {
        (src, dst, port): cluster.allowed(pods[src], pods[dst], port)
        for src, dst, port in ALLOWED + DENIED
    }


@pytest.mark.parametrize("stack", STACKS)
def test_reachability_matrix(mocked: Runner, stack: str) -> None:
    result = matrix(mocked(stack, canary_overrides("10")))
    assert [k for k in ALLOWED if not result[k]] == []
    assert [k for k in DENIED if result[k]] == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_pod_of_the_namespace_is_isolated_for_ingress(mocked: Runner, stack: str) -> None:
    run = mocked(stack, canary_overrides("50"))
    cluster = cluster_of(run)
    for pod in pods_of(run).values():
        assert cluster.selecting(pod, "Ingress"), pod.name


def test_production_denies_egress_but_dns_and_the_release_flows(mocked: Runner) -> None:
    run = mocked("production", canary_overrides("10"))
    cluster, pods = cluster_of(run), endpoints(run)
    for pod in pods_of(run).values():
        assert cluster.selecting(pod, "Egress"), pod.name
        assert cluster.allowed(pod, KUBE_DNS, 53), pod.name
        assert not cluster.allowed(pod, INTERNET, 443), pod.name
    assert not cluster.allowed(pods["engine-stable"], STRANGER, 8080)
    # Staging keeps egress open (no default-deny egress outside production by default).
    staging = mocked("staging", canary_overrides("10"))
    assert not any(cluster_of(staging).selecting(p, "Egress") for p in pods_of(staging).values())


def test_configured_ingress_namespace_and_engine_egress(mocked: Runner) -> None:
    network = {
        "ingressNamespace": "edge",
        "engineEgress": [{"cidr": "198.51.100.0/24", "port": 443}],
    }
    run = mocked("production", {**canary_overrides("10"), "network": network})
    cluster, pods = cluster_of(run), endpoints(run)
    edge = Pod("ingress-nginx", "edge", {"app": "ingress"})
    router = pods["involution-router"]
    assert cluster.allowed(edge, router, 8080)
    assert not cluster.allowed(STRANGER, router, 8080)
    assert not cluster.allowed(INTERNET, router, 8080)
    api = Pod("partner-api", None, ip="198.51.100.20")
    assert cluster.allowed(pods["engine-canary"], api, 443)
    assert not cluster.allowed(pods["engine-canary"], api, 80)
    assert not cluster.allowed(pods["time-resolver"], api, 443)


def test_the_evaluator_follows_kubernetes_semantics() -> None:
    """Selectors and ports as the API documents them, on hand-made policies."""
    assert matches({}, {"a": "b"})
    assert not matches(None, {"a": "b"})
    assert matches(
        {"matchExpressions": [{"key": "a", "operator": "In", "values": ["b"]}]}, {"a": "b"}
    )
    assert not matches({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {})
    web = Pod("web", "app", {"role": "web"}, {"http": 80})
    db = Pod("db", "app", {"role": "db"}, {"sql": 5432})
    other = Pod("x", "other", {"role": "web"})
    both = {
        "metadata": {"namespace": "app"},
        "spec": {
            "podSelector": {"matchLabels": {"role": "db"}},
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {"team": "a"}},
                            "podSelector": {"matchLabels": {"role": "web"}},
                        }
                    ],
                    "ports": [{"port": "sql"}],
                }
            ],
        },
    }
    cluster = Cluster(namespaces={"app": {"team": "a"}, "other": {}}, policies=[both])
    assert cluster.allowed(web, db, 5432)  # named port resolved on the destination
    assert not cluster.allowed(web, db, 80)
    assert not cluster.allowed(other, db, 5432)  # both selectors must match
    assert cluster.allowed(db, web, 80)  # web is not selected: not isolated
