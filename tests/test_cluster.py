"""The `local` stack on the local cluster (scripts/cluster.sh: the control plane and its real
node): Pod Security admission, available Deployments, a clean second preview, the release walk
with the live router ConfigMap's weights, drift found and repaired, destroy, and the stop up
front on a cluster without the Prometheus Operator's CRDs. The analysis asks a Prometheus of
backfilled healthy series here, so the walk does not wait for traffic; the releases under real
traffic are tests/test_pods_*.py's.

`.ci/run` starts the cluster; elsewhere run `make cluster` first (the tests skip with that
how-to when it is not running; under CI=true they start it, and fail when it cannot start).
The tests of this module run in order on one stack.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from harness import yaml_load
from harness.cluster.local import (
    PID_DIGITS,
    LocalCluster,
    live_runs,
    local_cluster,
    run_namespace,
)
from harness.engine.project import EngineProject, make_project
from harness.live.prometheus import LivePrometheus, healthy_scenario, live_prometheus
from harness.scenarios import TEST_REDIS_PASSWORD
from harness.tooling import in_ci
from involution.config.monitoring import MonitoringSettings
from tests.nginx_parse import upstream_backups, upstream_weights
from tests.pods_stack import BESIDE_ON_THE_NODE
from tests.tooling import or_missing, require_tool

# This module's tests walk one stack, in order.
pytestmark = [pytest.mark.cluster, BESIDE_ON_THE_NODE]  # one worker: tests/pods_stack.py says why

STACK = "local"
# Its own namespace, so a developer's own `local` stack (namespace involution) is left alone.
NAMESPACE = run_namespace("ct")
DEPLOYMENTS = ("engine-stable", "involution-router", "redis", "time-resolver")
STABLE, CANARY = "engine-stable:8080", "engine-canary:8080"
# The release process's emergency rollback of the stable track (docs/release-process.md).
DRIFT_IMAGE = "involution-engine:v1.2.1"
DECLARED_IMAGE = "involution-engine:v1.2.2"
NO_CRDS = "the cluster has no monitoring.coreos.com CRDs"


@pytest.fixture(scope="module")
def cluster() -> LocalCluster:
    found = or_missing(lambda: local_cluster(start=in_ci()))
    found.delete_abandoned_runs()
    return found


@pytest.fixture(scope="module")
def project(
    cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineProject]:
    base = tmp_path_factory.mktemp("cluster")
    # The engine's temporary files in a folder of the module's own, so that what it leaves
    # there can be read (test_the_engine_leaves_no_copy_of_the_kubeconfig).
    engine_tmp = base / "engine-tmp"
    engine_tmp.mkdir()
    env = {"KUBECONFIG": str(cluster.kubeconfig), "TMPDIR": str(engine_tmp)}
    project = or_missing(lambda: make_project(base, extra_env=env))
    project.init_stack(STACK, {"namespace": NAMESPACE})
    project.set(STACK, "redisPassword", TEST_REDIS_PASSWORD, secret=True)
    for phase in ("10", "50", "100"):
        project.set(STACK, f"soak.{phase}", "0s", path=True)
    yield project
    # Whatever a failed test left: nothing of the namespace stays on the shared cluster.
    project.pulumi("destroy", "--yes", "--skip-preview", "--stack", STACK, check=False)
    cluster.kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", check=False)


def deployments(cluster: LocalCluster) -> dict[str, dict[str, Any]]:
    items = cluster.get("deployments", "-n", NAMESPACE)["items"]
    return {d["metadata"]["name"]: d for d in items}


def live_weights(cluster: LocalCluster) -> tuple[dict[str, int], list[str]]:
    """The upstream of the nginx.conf the router's pods mount, read from the live objects."""
    router = cluster.get("deployment", "involution-router", "-n", NAMESPACE)
    volumes = router["spec"]["template"]["spec"]["volumes"]
    names = [v["configMap"]["name"] for v in volumes if "configMap" in v]
    assert len(names) == 1, volumes
    conf = cluster.get("configmap", names[0], "-n", NAMESPACE)["data"]["nginx.conf"]
    return upstream_weights(conf), upstream_backups(conf)


def wait_available(cluster: LocalCluster, timeout: float = 60.0) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = deployments(cluster)
        waiting = {
            name: d.get("status", {})
            for name, d in found.items()
            if d["spec"]["replicas"] != d.get("status", {}).get("availableReplicas", 0)
            or d["metadata"]["generation"] != d.get("status", {}).get("observedGeneration")
        }
        if not waiting:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not available after {timeout:.0f}s: {waiting}")
        time.sleep(0.5)


def stable_state(cluster: LocalCluster) -> tuple[int, str]:
    d = cluster.get("deployment", "engine-stable", "-n", NAMESPACE)
    containers = {c["name"]: c["image"] for c in d["spec"]["template"]["spec"]["containers"]}
    return d["spec"]["replicas"], containers["engine"]


def step(project: EngineProject, **changes: str | None) -> dict[str, Any]:
    for key, value in changes.items():
        if value is None:
            project.rm(STACK, key)
        else:
            project.set(STACK, key, value)
    project.up(STACK)
    return project.outputs(STACK)


def test_first_up_under_pod_security_restricted(
    cluster: LocalCluster, project: EngineProject
) -> None:
    result = project.up(STACK)
    assert "Traceback" not in result.stdout + result.stderr
    labels = cluster.get("namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"

    found = wait_available(cluster)
    assert set(DEPLOYMENTS) <= set(found), sorted(found)
    pods = cluster.get("pods", "-n", NAMESPACE)["items"]
    expected = sum(d["spec"]["replicas"] for d in found.values())
    ready = [
        p["metadata"]["name"]
        for p in pods
        if p["status"].get("phase") == "Running"
        and any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p["status"].get("conditions", [])
        )
    ]
    assert len(ready) == expected, [p["status"] for p in pods]
    # The admission controller enforces the label: a pod without the hardening is refused.
    refused = cluster.kubectl(
        "run",
        "unhardened-probe",
        "-n",
        NAMESPACE,
        "--image",
        "busybox:1.37",
        "--dry-run=server",
        check=False,
    )
    assert refused.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in refused.stderr, refused.stderr

    again = project.pulumi("preview", "--expect-no-changes", "--stack", STACK, check=False)
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[LivePrometheus]:
    """Healthy series for the stack's namespace: the staging analysis says advance."""
    binary = require_tool("prometheus", "prometheus")
    promtool = require_tool("promtool", "prometheus")
    scenarios = [healthy_scenario(NAMESPACE)]
    with live_prometheus(binary, promtool, scenarios, MonitoringSettings(), tmp_path) as live:
        yield live


def test_release_walk_moves_the_live_weights(
    cluster: LocalCluster, project: EngineProject, prometheus: LivePrometheus
) -> None:
    project.set(STACK, "monitoring.prometheusUrl", prometheus.url, path=True)
    at10 = step(project, canaryVersion="v1.3.0", canaryPhase="10")
    assert at10["phase"] == "10"
    assert live_weights(cluster) == ({STABLE: 90, CANARY: 10}, [])
    assert deployments(cluster)["engine-canary"]["spec"]["replicas"] == 1

    step(project, canaryPhase="50")
    assert live_weights(cluster) == ({STABLE: 50, CANARY: 50}, [])
    step(project, canaryPhase="100")
    assert live_weights(cluster) == ({CANARY: 100}, [STABLE])
    assert deployments(cluster)["engine-canary"]["spec"]["replicas"] == 2

    rolled = step(project, canaryPhase="rollback")
    assert rolled["canaryWeight"] == 0
    assert live_weights(cluster) == ({STABLE: 100}, [])
    assert deployments(cluster)["engine-canary"]["spec"]["replicas"] == 0
    wait_available(cluster)
    steps = [(e["from"], e["phase"]) for e in rolled["releaseLog"]]
    assert steps[-4:] == [("none", "10"), ("10", "50"), ("50", "100"), ("100", "rollback")]


def test_drift_is_found_by_preview_refresh_and_repaired(
    cluster: LocalCluster, project: EngineProject
) -> None:
    declared = stable_state(cluster)
    assert declared == (2, DECLARED_IMAGE)
    cluster.kubectl("scale", "deployment", "engine-stable", "--replicas=1", "-n", NAMESPACE)
    cluster.kubectl(
        "set", "image", "deployment/engine-stable", f"engine={DRIFT_IMAGE}", "-n", NAMESPACE
    )
    assert stable_state(cluster) == (1, DRIFT_IMAGE)

    # preview --refresh reports the drift, and the conflict: kubectl now owns the two fields
    # (server-side apply), so neither preview nor `up --refresh` may take them back unforced.
    found = project.pulumi("preview", "--refresh", "--diff", "--stack", STACK, check=False)
    output = found.stdout + found.stderr
    assert found.returncode != 0, output
    assert_drift_reported(output)
    assert 'conflicts with "kubectl" with subresource "scale"' in output, output
    assert ".spec.replicas" in output and 'conflicts with "kubectl-set"' in output, output
    unforced = project.pulumi(
        "up", "--refresh", "--yes", "--skip-preview", "--stack", STACK, check=False
    )
    assert unforced.returncode != 0
    assert "Server-Side Apply field conflict detected" in unforced.stdout + unforced.stderr
    assert stable_state(cluster) == (1, DRIFT_IMAGE)

    forced = project.pulumi("preview", "--refresh", "--diff", "--stack", STACK, env_extra=FORCE)
    assert_drift_reported(forced.stdout)
    project.pulumi("up", "--refresh", "--yes", "--skip-preview", "--stack", STACK, env_extra=FORCE)
    assert stable_state(cluster) == declared
    wait_available(cluster)
    clean = project.pulumi("preview", "--refresh", "--expect-no-changes", "--stack", STACK)
    assert clean.returncode == 0


def test_the_engine_leaves_no_copy_of_the_kubeconfig(project: EngineProject) -> None:
    """Given a kubeconfig, the provider copies it, client key included, to a temporary file on
    every start and never removes it; the program hands it none (program/deploy.py). After the
    walk, the drift repair and one more preview against the cluster, the engine's temporary
    folder holds no copy."""
    project.pulumi("preview", "--stack", STACK)  # the provider configured once more (fails loud)
    temporary = Path(project.env["TMPDIR"])
    copies = sorted(p.name for p in temporary.rglob("kubeconfig*"))
    assert copies == [], f"{len(copies)} kubeconfig copies left in {temporary}"
    # Nor any file under another name: the client key of the kubeconfig is in none of them.
    kubeconfig = yaml_load.load(Path(project.env["KUBECONFIG"]).read_text())
    keys = [u["user"]["client-key-data"].encode() for u in kubeconfig["users"]]
    assert keys
    files = [p for p in temporary.rglob("*") if p.is_file()]
    assert [p.name for p in files if any(k in p.read_bytes() for k in keys)] == []


# The README's repair of drift: `PULUMI_K8S_ENABLE_PATCH_FORCE=true pulumi up --refresh`.
FORCE = {"PULUMI_K8S_ENABLE_PATCH_FORCE": "true"}


def assert_drift_reported(output: str) -> None:
    """The refreshed live values against the program's, for both drifted fields."""
    assert "~ replicas: 1 => 2" in output, output
    assert f'~ image: "{DRIFT_IMAGE}" => "{DECLARED_IMAGE}"' in output, output


def test_a_lost_state_refuses_steps_forward_until_the_release_is_adopted(
    cluster: LocalCluster, project: EngineProject, tmp_path: Path
) -> None:
    """The same stack with its state lost (a new backend: outputs say first deployment) while
    the cluster still runs the walk's rolled-back release."""
    lost = or_missing(
        lambda: make_project(tmp_path, extra_env={"KUBECONFIG": str(cluster.kubeconfig)})
    )
    lost.init_stack(STACK, {"namespace": NAMESPACE})
    lost.set(STACK, "redisPassword", TEST_REDIS_PASSWORD, secret=True)
    lost.set(STACK, "monitoring.enabled", "false", path=True)
    runs = (
        "engine-stable runs v1.2.2 at phase rollback; engine-canary runs v1.3.0 at phase rollback"
    )
    steps_forward: list[tuple[dict[str, str | None], dict[str, str | None]]] = [
        ({"stableVersion": "v2.0.0"}, {"stableVersion": "v1.2.2"}),
        ({"canaryVersion": "v1.3.0", "canaryPhase": "10"}, {"canaryPhase": "none"}),
    ]
    for forward, undo in steps_forward:
        lost.configure(STACK, forward)
        for command in ("preview", "up"):
            extra = ("--yes", "--skip-preview") if command == "up" else ()
            result = lost.pulumi(command, *extra, "--stack", STACK, check=False)
            output = result.stdout + result.stderr
            assert result.returncode != 0, output
            assert "the stack's outputs say first deployment (it has none), but" in output, output
            assert runs in output, output
            assert "releaseAdoption" in output and "Traceback" not in output
        lost.configure(STACK, undo)
    state = lost.pulumi("stack", "--show-urns", "--stack", STACK).stdout
    assert "kubernetes:core/v1:Namespace" not in state, state  # nothing registered

    lost.configure(STACK, {"canaryVersion": "v1.3.0", "canaryPhase": "rollback"})
    expires = (datetime.now(UTC) + timedelta(hours=2)).isoformat(timespec="seconds")
    for key, value in {**ADOPTION, "expiresAt": expires}.items():
        lost.set(STACK, f"releaseAdoption.{key}", value, path=True)
    adopted = lost.pulumi("preview", "--stack", STACK, check=False)
    output = adopted.stdout + adopted.stderr
    assert adopted.returncode == 0, output
    assert "releaseAdoption: this step is judged against the cluster at" in output, output
    assert "adopted: state moved to a new backend (approved by ana.release, CHG-3001)" in output
    lost.pulumi("stack", "rm", "--yes", "--force", "--stack", STACK)


ADOPTION = {
    "reason": "state moved to a new backend",
    "approvedBy": "ana.release",
    "ticket": "CHG-3001",
}


def test_a_killed_runs_namespace_is_deleted_and_a_live_runs_kept(
    cluster: LocalCluster, project: EngineProject
) -> None:
    """What a run killed before its cleanup left (a namespace numbered by a gone process) goes;
    this run's own namespace (the module's stack, deployed) stays."""
    live = live_runs()
    gone = next(n for n in range(PID_DIGITS - 1, 0, -1) if n not in live)
    left = f"involution-watch{gone}"
    cluster.kubectl("create", "namespace", left)
    try:
        assert cluster.delete_abandoned_runs() == [left]
        cluster.wait_gone("namespace", left)
        assert cluster.exists("namespace", NAMESPACE)
    finally:
        cluster.kubectl("delete", "namespace", left, "--ignore-not-found", check=False)


def test_destroy_leaves_nothing_of_the_namespace(
    cluster: LocalCluster, project: EngineProject
) -> None:
    project.pulumi("destroy", "--yes", "--skip-preview", "--stack", STACK)
    cluster.wait_gone("namespace", NAMESPACE)
    leftovers = cluster.kubectl(
        "get", "all,configmaps,secrets,pdb,networkpolicies", "-n", NAMESPACE, "--no-headers"
    )
    assert leftovers.stdout.strip() == "", leftovers.stdout


@pytest.fixture(scope="module")
def bare_kubeconfig(cluster: LocalCluster) -> Iterator[Path]:
    """A second API server on the cluster's etcd under its own prefix: no CRDs at all."""
    yield cluster.bare_up()
    cluster.bare_down()


def test_without_the_operator_crds_the_program_stops_up_front(
    cluster: LocalCluster, bare_kubeconfig: Path, tmp_path: Path
) -> None:
    project = or_missing(
        lambda: make_project(tmp_path, extra_env={"KUBECONFIG": str(bare_kubeconfig)})
    )
    project.init_stack(STACK, {"namespace": NAMESPACE})
    project.set(STACK, "redisPassword", TEST_REDIS_PASSWORD, secret=True)
    for command in ("preview", "up"):
        started = time.monotonic()
        extra = ("--yes", "--skip-preview") if command == "up" else ()
        result = project.pulumi(command, *extra, "--stack", STACK, check=False)
        elapsed = time.monotonic() - started
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert (
            "the target cluster cannot take this stack: involution:monitoring.enabled = 'true': "
            f"{NO_CRDS} (PrometheusRule, ServiceMonitor, AlertmanagerConfig)"
        ) in output, output
        assert "install the Prometheus Operator's CRDs or set monitoring.enabled false" in output
        assert "Traceback" not in output
        assert elapsed < 30, f"{command} took {elapsed:.1f}s"
    kubectl_bare = cluster.kubectl(
        "--kubeconfig", str(bare_kubeconfig), "get", "namespace", NAMESPACE, check=False
    )
    assert kubectl_bare.returncode != 0  # nothing was registered
    state = project.pulumi("stack", "--show-urns", "--stack", STACK).stdout
    assert "kubernetes:core/v1:Namespace" not in state, state

    project.set(STACK, "monitoring.enabled", "false", path=True)
    result = project.pulumi("preview", "--stack", STACK, check=False)
    assert NO_CRDS not in result.stdout + result.stderr
