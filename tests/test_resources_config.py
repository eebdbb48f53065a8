"""`resources`: each component's containers get the requests and limits the stack sets, every
field left out keeps its default, and the `local` stack's sizing fits two stacks at a release's
peak on the local cluster's 2-CPU node."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from harness.mockrun import MockRun, RecordedResource, load_stack_config
from involution.config.resources import (
    ENGINE_RESOURCES,
    RESOLVER_RESOURCES,
    ROUTER_RESOURCES,
    quantity,
)
from involution.names import RESOLVER_NAME, ROUTER_NAME
from tests.conftest import canary_overrides, run_scenario

pytestmark = pytest.mark.unit

# The local cluster's node (scripts/node.sh): all of this machine's 2 CPUs are allocatable.
NODE_CPUS = Decimal(2)


def container_resources(deployment: RecordedResource, name: str) -> dict[str, Any]:
    containers = deployment.inputs["spec"]["template"]["spec"]["containers"]
    (container,) = [c for c in containers if c["name"] == name]
    resources: dict[str, Any] = container["resources"]
    return resources


def deployment(run: MockRun, name: str) -> RecordedResource:
    return run.named("Deployment", name)


def test_unset_every_container_keeps_the_defaults() -> None:
    run = run_scenario("dev", canary_overrides("50"))
    for name in ("engine-stable", "engine-canary"):
        assert container_resources(deployment(run, name), "engine") == ENGINE_RESOURCES.as_spec()
    assert container_resources(deployment(run, ROUTER_NAME), "nginx") == ROUTER_RESOURCES.as_spec()
    resolver = deployment(run, RESOLVER_NAME)
    assert container_resources(resolver, RESOLVER_NAME) == RESOLVER_RESOURCES.as_spec()


def test_set_fields_reach_their_containers_and_the_rest_keep_their_defaults() -> None:
    resources = {
        "engine": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": 2}},
        "router": {"limits": {"memory": "256Mi"}},
        "timeResolver": {"requests": {"cpu": "0.05"}},
    }
    run = run_scenario("dev", {**canary_overrides("10"), "resources": resources})
    engine = {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "2", "memory": ENGINE_RESOURCES.memory_limit},
    }
    for name in ("engine-stable", "engine-canary"):
        assert container_resources(deployment(run, name), "engine") == engine
    router = ROUTER_RESOURCES.as_spec()
    router["limits"]["memory"] = "256Mi"
    assert container_resources(deployment(run, ROUTER_NAME), "nginx") == router
    resolver = RESOLVER_RESOURCES.as_spec()
    resolver["requests"]["cpu"] = "0.05"
    assert container_resources(deployment(run, RESOLVER_NAME), RESOLVER_NAME) == resolver


@pytest.mark.parametrize(
    ("text", "value"),
    [("250m", "0.25"), ("1", "1"), ("1.5", "1.5"), ("64Mi", "67108864"), ("1G", "1000000000")],
)
def test_quantities_read_as_kubernetes_reads_them(text: str, value: str) -> None:
    assert quantity(text) == Decimal(value)


def peak_cpu_requests(run: MockRun) -> Decimal:
    """CPU requested at a phase's peak: every Deployment's pods plus its rollout's surge pod."""
    total = Decimal(0)
    for d in run.of_kind("Deployment"):
        pod_cpu = sum(
            quantity(str(c["resources"]["requests"]["cpu"]))
            for c in d.inputs["spec"]["template"]["spec"]["containers"]
        )
        total += pod_cpu * (int(d.inputs["spec"]["replicas"]) + 1)
    return total


def test_two_local_stacks_fit_the_local_node_at_a_releases_peak() -> None:
    """At 100 the canary runs at full capacity beside stable: the peak of a release. The pods
    tests run two `local` stacks on the node at once, as an operator may."""
    config = load_stack_config("local")
    run = run_scenario("local", {**canary_overrides("100"), "redisPassword": "x"})
    peak = peak_cpu_requests(run)
    assert 2 * peak <= NODE_CPUS, (peak, config.get("resources"))
