"""What the `pods` test modules share: the local cluster with its real node, and a `local`
stack of a project copy in a namespace of its own, destroyed at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cluster.local import LocalCluster, local_cluster, run_namespace
from harness.cluster.pods import STACK, PodsRelease
from harness.engine.project import make_project
from harness.scenarios import TEST_REDIS_PASSWORD
from harness.tooling import in_ci
from tests.tooling import missing, or_missing

# The modules that deploy to the local cluster run as two chains of releases, each on one xdist
# worker: the walks of tests/test_pods_release.py on one, tests/test_cluster.py then
# tests/test_pods_watch.py on another. A `local` stack requests at most 0.8 of the real node's 2
# CPUs at a release's peak (Pulumi.local.yaml's `resources`; tests/test_resources_config.py),
# so two fit; a third would leave pods Pending and `pulumi up` waiting out its deadline. The
# chains wait on pods most of their time: apart, the whole node chain took 1,159 s of a CI
# run whose other tests took 660 s.
ON_THE_NODE = pytest.mark.xdist_group("node")
BESIDE_ON_THE_NODE = pytest.mark.xdist_group("node-beside")

NO_NODE = (
    "the local cluster runs without its real node: `make cluster-down && make cluster` as root "
    "starts containerd, kubelet, kube-proxy and CoreDNS (scripts/node.sh)"
)


def real_cluster() -> LocalCluster:
    cluster = or_missing(lambda: local_cluster(start=in_ci()))
    if not cluster.node_ready():
        missing(NO_NODE)
    cluster.delete_abandoned_runs()
    return cluster


def pods_release(cluster: LocalCluster, base: Path, purpose: str) -> Iterator[PodsRelease]:
    """The `local` stack (staging's rules, soaks 0s, the cluster's Prometheus) in its own
    namespace, deleted when the block ends. The stack holds namespaced objects only (and its
    Namespace), so deleting the namespace removes all of it; its pods stop in the background
    while the next module starts (a `pulumi destroy` and the wait for the namespace to be
    gone took 26 s per module, on the chain of releases the whole run waits for). The stack's
    state goes with the test's temporary folder."""
    name = run_namespace(purpose)
    project = or_missing(
        lambda: make_project(base, extra_env={"KUBECONFIG": str(cluster.kubeconfig)})
    )
    project.init_stack(STACK, {"namespace": name})
    project.set(STACK, "redisPassword", TEST_REDIS_PASSWORD, secret=True)
    project.set(STACK, "monitoring.prometheusUrl", cluster.prometheus_url, path=True)
    for phase in ("10", "50", "100"):
        project.set(STACK, f"soak.{phase}", "0s", path=True)
    try:
        yield PodsRelease(cluster, project, name)
    finally:
        cluster.kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=false")
