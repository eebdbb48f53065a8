"""Releases on real pods: the `local` stack on the local cluster's real node (containerd,
kubelet, kube-proxy, CoreDNS; the stand-in images of tools.node_images), under steady load
through the router's Service.

- every pod runs under Pod Security `restricted` and the router serves through its Service;
- the engine pods reach Redis with the Secret's password, and Redis refuses them without it;
- the walk 10 -> 50 -> 100 -> promotion, each step forward once the canary analysis (asking
  the cluster's Prometheus, which scrapes the pods) says advance: no failed request, and after
  each `pulumi up` the measured canary share within a point of the weight
  (harness.cluster.pods.SHARE_MARGIN says why that many requests);
- a rollback, and a staged rollback 100 -> 50 -> 10 -> rollback: no failed request;
- drift made with `kubectl` (a hand rollback of the stable track) repaired as the README says,
  with no failed request either.

Marker `pods`: `.ci/run` starts the cluster; elsewhere `make cluster` (as root) first. The
tests of this module run in order on one stack.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from harness.cluster.local import LocalCluster
from harness.cluster.pods import STACK, PodsRelease, Step
from harness.cluster.stand_ins import (
    CANARY_VERSION,
    EMERGENCY_ROLLBACK_VERSION,
    NEXT_CANARY_VERSION,
    STABLE_VERSION,
)
from harness.live.load import Tally
from involution.names import ENGINE_NAME, NAME_LABEL, RUN_AS_USER
from tests.pods_stack import ON_THE_NODE, pods_release, real_cluster

# This module's tests walk one stack, in order.
pytestmark = [pytest.mark.pods, ON_THE_NODE]  # one worker: tests/pods_stack.py says why

DEPLOYMENTS = ("engine-stable", "involution-router", "redis", "time-resolver")
FORCE = {"PULUMI_K8S_ENABLE_PATCH_FORCE": "true"}


@pytest.fixture(scope="module")
def cluster() -> LocalCluster:
    return real_cluster()


@pytest.fixture(scope="module")
def release(
    cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PodsRelease]:
    yield from pods_release(cluster, tmp_path_factory.mktemp("pods"), "pods")


def report(capsys: pytest.CaptureFixture[str], lines: list[str]) -> None:
    """Figures for whoever runs the tests, whatever pytest's capture."""
    with capsys.disabled():
        print("\n" + "\n".join(lines))


def describe(step: Step) -> str:
    ready = "no new pods" if step.ready_seconds is None else f"pods Ready {step.ready_seconds:.0f}s"
    return (
        f"  {step.label:<22} up {step.seconds:5.1f}s, {ready}; during the up: "
        f"{step.during.total} requests, {step.during.failed} failed"
    )


def canary_share(tally: Tally) -> float:
    return tally.share("canary")


def assert_share(release: PodsRelease, weight: int) -> tuple[int, float]:
    """The next release.share_sample() requests, once the old pods are gone, split at the
    weight within a point."""
    release.wait_settled()
    n = release.share_sample()
    measured = release.measure(n)
    assert measured.failed == 0, measured.describe()
    share = canary_share(measured)
    assert abs(share - weight) <= 1.0, f"canary weight {weight}: {measured.describe()}"
    return n, share


def test_first_up_runs_every_pod_under_pod_security_restricted(
    cluster: LocalCluster, release: PodsRelease
) -> None:
    step = release.up("first up")
    labels = cluster.get("namespace", release.namespace)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    pods = cluster.get("pods", "-n", release.namespace)["items"]
    apps = {p["metadata"]["labels"][NAME_LABEL] for p in pods}
    assert apps == {ENGINE_NAME, "involution-router", "redis", "time-resolver"}, apps
    for pod in pods:
        assert pod["spec"]["nodeName"] == "involution-node"
        assert pod["status"]["phase"] == "Running", pod["status"]
        statuses = pod["status"]["containerStatuses"]
        assert all(s["ready"] and s["restartCount"] == 0 for s in statuses), statuses
        assert pod["spec"]["securityContext"]["runAsUser"] == RUN_AS_USER
    assert step.ready_seconds is not None
    # Through the router's Service, as any client: the stable engine answers.
    assert release.answer() == (200, "stable", STABLE_VERSION)
    cached = release.answer("/cache")
    assert cached[0] == 200, cached
    # The cluster's Prometheus scrapes the pods as the ServiceMonitors say: both engine pods
    # with the track and version of their Service, both routers' status ports.
    scraped = release.scraped()
    engines = sorted(
        (t["job"], t["track"], t["version"], t["endpoint"])
        for t in scraped
        if t["job"] == "engine-stable"
    )
    assert engines == [("engine-stable", "stable", STABLE_VERSION, "http")] * 2, scraped
    routers = [t for t in scraped if t["job"] == "involution-router"]
    assert [t["endpoint"] for t in routers] == ["status", "status"], scraped


def engine_redis_check(cluster: LocalCluster, namespace: str, *flags: str) -> tuple[int, str]:
    """`engine redis-check` inside an engine pod (kubectl exec through kubelet)."""
    result = cluster.kubectl(
        "exec",
        "-n",
        namespace,
        "deployment/engine-stable",
        "--",
        "/engine",
        "redis-check",
        *flags,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def test_engine_pods_reach_redis_with_the_secrets_password_and_are_refused_without(
    cluster: LocalCluster, release: PodsRelease
) -> None:
    code, output = engine_redis_check(cluster, release.namespace)
    assert code == 0, output
    assert "AUTH: +OK" in output and "PING: +PONG" in output, output
    code, output = engine_redis_check(cluster, release.namespace, "--no-auth")
    assert code != 0, output
    assert "PING: -NOAUTH Authentication required" in output, output
    code, output = engine_redis_check(cluster, release.namespace, "--password", "not-it")
    assert code != 0, output
    assert "AUTH: -WRONGPASS" in output, output
    # The password reaches the pod only from the Secret, never as a literal.
    engine = cluster.get("deployment", "engine-stable", "-n", release.namespace)
    env = {e["name"]: e for e in engine["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "value" not in env["REDIS_PASSWORD"]
    assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "involution-redis-auth"


def test_walk_to_promotion_under_load_fails_no_request_and_splits_at_the_weights(
    release: PodsRelease, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["walk 10 -> 50 -> 100 -> promotion under load through the router's Service:"]
    with release.load() as pool:
        release.measure(200)  # the load runs before the first step
        for label, changes, weight in (
            ("none -> 10", {"canaryVersion": CANARY_VERSION, "canaryPhase": "10"}, 10),
            ("10 -> 50", {"canaryPhase": "50"}, 50),
            ("50 -> 100", {"canaryPhase": "100"}, 100),
            (
                "100 -> promotion",
                {"stableVersion": CANARY_VERSION, "canaryVersion": None, "canaryPhase": "none"},
                0,
            ),
        ):
            if label != "none -> 10":
                analysis, waited = release.wait_for_advance()
                lines.append(f"  analysis: advance after {waited:.0f}s ({analysis.reason})")
            step = release.up(label, changes)
            lines.append(describe(step))
            n, share = assert_share(release, weight)
            lines.append(f"    canary share {share:.2f}% of {n} requests (weight {weight})")
        total = pool.snapshot()
    report(capsys, [*lines, f"  whole walk: {total.describe()}"])
    assert total.failed == 0, total.describe()
    assert release.answer() == (200, "stable", CANARY_VERSION)
    outputs = release.outputs()
    assert (outputs["stableVersion"], outputs["phase"]) == (CANARY_VERSION, "none")
    steps = [entry["step"] for entry in outputs["releaseLog"]]
    assert steps[-4:] == ["start", "advance", "advance", "promote"], steps


def test_rollback_under_load_fails_no_request(
    release: PodsRelease, capsys: pytest.CaptureFixture[str]
) -> None:
    with release.load() as pool:
        release.measure(200)
        start = release.up(
            "none -> 10", {"canaryVersion": NEXT_CANARY_VERSION, "canaryPhase": "10"}
        )
        assert_share(release, 10)
        back = release.up("10 -> rollback", {"canaryPhase": "rollback"})
        release.wait_settled()
        after = release.measure(release.share_sample())
        total = pool.snapshot()
    report(
        capsys, ["rollback under load:", describe(start), describe(back), f"  {total.describe()}"]
    )
    assert total.failed == 0, total.describe()
    assert canary_share(after) == 0.0, after.describe()
    canary = release.cluster.get("deployment", "engine-canary", "-n", release.namespace)
    assert canary["spec"]["replicas"] == 0


def test_staged_rollback_under_load_fails_no_request(
    release: PodsRelease, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["staged rollback 100 -> 50 -> 10 -> rollback under load:"]
    with release.load() as pool:
        release.measure(200)
        lines.append(describe(release.up("rollback -> 10 (retry)", {"canaryPhase": "10"})))
        for forward in ("50", "100"):
            release.wait_for_advance()
            lines.append(describe(release.up(f"-> {forward}", {"canaryPhase": forward})))
        assert_share(release, 100)
        for back, weight in (("50", 50), ("10", 10), ("rollback", 0)):
            step = release.up(f"staged -> {back}", {"canaryPhase": back})
            lines.append(describe(step))
            n, share = assert_share(release, weight)
            lines.append(f"    canary share {share:.2f}% of {n} requests (weight {weight})")
        closed = release.up("close", {"canaryVersion": None, "canaryPhase": "none"})
        lines.append(describe(closed))
        total = pool.snapshot()
    report(capsys, [*lines, f"  {total.describe()}"])
    assert total.failed == 0, total.describe()
    steps = [(e["from"], e["phase"]) for e in release.outputs()["releaseLog"]][-7:]
    assert steps == [
        ("rollback", "10"),
        ("10", "50"),
        ("50", "100"),
        ("100", "50"),
        ("50", "10"),
        ("10", "rollback"),
        ("rollback", "none"),
    ], steps


def stable_state(release: PodsRelease) -> tuple[int, str]:
    d = release.cluster.get("deployment", "engine-stable", "-n", release.namespace)
    containers = {c["name"]: c["image"] for c in d["spec"]["template"]["spec"]["containers"]}
    return d["spec"]["replicas"], containers["engine"]


def serves_only(release: PodsRelease, version: str, timeout: float = 15.0) -> bool:
    """Every one of 40 answers in a row from `version`, within `timeout`: old pods drain for a
    few seconds after a rollout (each keep-alive connection gets one last answer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if {release.answer()[2] for _ in range(40)} == {version}:
            return True
        time.sleep(1)
    return False


def test_drift_made_with_kubectl_is_repaired_as_the_readme_says(
    release: PodsRelease, capsys: pytest.CaptureFixture[str]
) -> None:
    stable = release.outputs()["stableVersion"]  # v1.3.0 after the walk's promotion
    declared = (2, f"involution-engine:{stable}")
    drifted = f"involution-engine:{EMERGENCY_ROLLBACK_VERSION}"
    assert stable_state(release) == declared
    cluster, ns, project = release.cluster, release.namespace, release.project
    with release.load() as pool:
        release.measure(200)
        cluster.kubectl("scale", "deployment", "engine-stable", "--replicas=1", "-n", ns)
        cluster.kubectl("set", "image", "deployment/engine-stable", f"engine={drifted}", "-n", ns)
        cluster.kubectl("rollout", "status", "deployment/engine-stable", "-n", ns, "--timeout=120s")
        assert stable_state(release) == (1, drifted)
        release.wait_settled()  # kubectl's rollout: its old pods may still answer until gone
        assert serves_only(release, EMERGENCY_ROLLBACK_VERSION)

        found = project.pulumi("preview", "--refresh", "--diff", "--stack", STACK, env_extra=FORCE)
        assert "~ replicas: 1 => 2" in found.stdout, found.stdout
        assert f'~ image: "{drifted}" => "{declared[1]}"' in found.stdout, found.stdout
        repaired = project.pulumi(
            "up", "--refresh", "--yes", "--skip-preview", "--stack", STACK, env_extra=FORCE
        )
        assert stable_state(release) == declared
        # `up` returned with the declared pods serving: no drifted answer is left.
        assert serves_only(release, stable), (
            [line for line in repaired.stdout.splitlines() if "stable-deployment" in line],
            cluster.get("deployment", "engine-stable", "-n", ns)["status"],
            [release.answer()[2] for _ in range(20)],
        )
        total = pool.snapshot()
    report(capsys, [f"drift and its repair under load: {total.describe()}"])
    assert total.failed == 0, total.describe()
    clean = project.pulumi("preview", "--refresh", "--expect-no-changes", "--stack", STACK)
    assert clean.returncode == 0
