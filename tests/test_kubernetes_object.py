"""components/kubernetes_object.py registers what pulumi_kubernetes's typed classes register:
each kind the program builds, given the same fields both ways under Pulumi mocks, arrives with
the same type token, the same inputs, the same secret inputs and secret outputs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi.runtime.sync_await import _sync_await

from components.kubernetes_object import (
    CONFIG_MAP,
    DEPLOYMENT,
    NAMESPACE_KIND,
    NETWORK_POLICY,
    POD_DISRUPTION_BUDGET,
    SECRET,
    SERVICE,
    Kind,
    KubernetesObject,
    custom_kind,
    object_name,
)
from harness.mockrun import MockRun, RecordedResource, RecordingMocks, RecordingMonitor

pytestmark = pytest.mark.unit

META = {"name": "web", "namespace": "involution", "labels": {"app": "web"}}
SELECTOR = {"matchLabels": {"app": "web"}}
POD = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web"}]}}
MONITORING = "monitoring.coreos.com/v1"

# kind, the fields beside metadata, and the typed class registering the same object
CASES: list[tuple[Kind, dict[str, Any], Callable[[], pulumi.CustomResource]]] = [
    (NAMESPACE_KIND, {}, lambda: k8s.core.v1.Namespace("typed", metadata=META)),
    (
        CONFIG_MAP,
        {"data": {"a.conf": "x"}},
        lambda: k8s.core.v1.ConfigMap("typed", metadata=META, data={"a.conf": "x"}),
    ),
    (
        SECRET,
        {"type": "Opaque", "stringData": {"password": "hunter2"}},
        lambda: k8s.core.v1.Secret(
            "typed", metadata=META, type="Opaque", string_data={"password": "hunter2"}
        ),
    ),
    (
        SERVICE,
        {"spec": {"type": "ClusterIP", "selector": {"app": "web"}, "ports": [{"port": 80}]}},
        lambda: k8s.core.v1.Service(
            "typed",
            metadata=META,
            spec={"type": "ClusterIP", "selector": {"app": "web"}, "ports": [{"port": 80}]},
        ),
    ),
    (
        DEPLOYMENT,
        {"spec": {"replicas": 2, "selector": SELECTOR, "template": POD}},
        lambda: k8s.apps.v1.Deployment(
            "typed", metadata=META, spec={"replicas": 2, "selector": SELECTOR, "template": POD}
        ),
    ),
    (
        POD_DISRUPTION_BUDGET,
        {"spec": {"maxUnavailable": 1, "selector": SELECTOR}},
        lambda: k8s.policy.v1.PodDisruptionBudget(
            "typed", metadata=META, spec={"maxUnavailable": 1, "selector": SELECTOR}
        ),
    ),
    (
        NETWORK_POLICY,
        {"spec": {"podSelector": {}, "policyTypes": ["Ingress"]}},
        lambda: k8s.networking.v1.NetworkPolicy(
            "typed", metadata=META, spec={"podSelector": {}, "policyTypes": ["Ingress"]}
        ),
    ),
    (
        custom_kind(MONITORING, "ServiceMonitor"),
        {"spec": {"selector": SELECTOR}},
        lambda: k8s.apiextensions.CustomResource(
            "typed",
            api_version=MONITORING,
            kind="ServiceMonitor",
            metadata=META,
            spec={"selector": SELECTOR},
        ),
    ),
]


class SecretOutputsMonitor(RecordingMonitor):
    """Also keeps each registration's additionalSecretOutputs, by resource name."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.secret_outputs: dict[str, list[str]] = {}
        self.names = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        with self.names:
            self.secret_outputs[request.name] = sorted(request.additionalSecretOutputs)
        return super().RegisterResource(request)


def registered(
    program: Callable[[], object],
) -> tuple[dict[str, RecordedResource], dict[str, list[str]]]:
    run = MockRun(stack="kinds")
    mocks = RecordingMocks(run)
    monitor = SecretOutputsMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="involution", stack="kinds", monitor=monitor)

    async def main() -> None:
        program()

    _sync_await(pulumi.runtime.stack.run_pulumi_func(main))
    return {r.name: r for r in run.resources}, monitor.secret_outputs


@pytest.mark.parametrize(("kind", "fields", "typed"), CASES, ids=[c[0].kind for c in CASES])
def test_registered_as_the_typed_class_registers_it(
    kind: Kind, fields: dict[str, Any], typed: Callable[[], pulumi.CustomResource]
) -> None:
    def both() -> None:
        typed()
        KubernetesObject("ours", kind, metadata=META, fields=fields)

    resources, secret_outputs = registered(both)
    ours, reference = resources["ours"], resources["typed"]
    assert (ours.type, ours.custom) == (reference.type, reference.custom)
    assert ours.inputs == reference.inputs
    assert ours.secret_paths == reference.secret_paths
    assert secret_outputs["ours"] == secret_outputs["typed"]


def test_a_secrets_data_is_secret_both_ways_in() -> None:
    resources, secret_outputs = registered(
        lambda: KubernetesObject(
            "ours", SECRET, metadata=META, fields={"data": {"k": "aHVudGVyMg=="}}
        )
    )
    assert resources["ours"].secret_paths == ("data",)
    assert secret_outputs["ours"] == ["data", "stringData"]


def test_object_name_is_the_settled_name() -> None:
    names: list[str] = []

    def program() -> None:
        named = KubernetesObject("ours", CONFIG_MAP, metadata={"namespace": "involution"})
        object_name(named).apply(names.append)

    resources, _ = registered(program)
    # auto-named by the (mock) provider: the name it settled, not the resource's
    assert names == [resources["ours"].metadata["name"]]
    assert names[0].startswith("ours-")
