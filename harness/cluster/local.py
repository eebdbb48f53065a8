"""The local Kubernetes cluster of scripts/cluster.sh, for tests and benchmarks.

`scripts/cluster.sh up` builds (once, cached in ~/.cache/involution-cluster) and starts etcd,
kube-apiserver, kube-controller-manager and kube-scheduler on loopback, a real node
(scripts/node.sh: containerd, kubelet, kube-proxy, CoreDNS, the release's images built
locally) and a Prometheus scraping the pods, and writes a kubeconfig whose context is
`involution-local`. Here: find it running (or start it), and talk to it with the kubectl built
beside it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.engine import go_runtime
from harness.paths import PROJECT_DIR
from harness.tooling import ToolMissing

CLUSTER_SH = PROJECT_DIR / "scripts" / "cluster.sh"
CONTEXT = "involution-local"
NODE = "involution-node"
HOW_TO = (
    "the local cluster is not running: `make cluster` (scripts/cluster.sh up, as root) builds "
    "etcd, the Kubernetes control plane, kubelet, kube-proxy, CoreDNS and the release's images "
    "from Go modules and Debian's packages (about 10 minutes cold, cached in "
    "~/.cache/involution-cluster) and starts them with a real node and a Prometheus"
)
START_TIMEOUT = 1800.0  # a cold build on 2 shared cores
# What a test run deploys goes in namespaces of its own, named by purpose and the run's process
# id, so a developer's `local` stack is left alone and a run's leftovers can be told apart.
TEST_RUN_PURPOSES = ("ct", "pods", "watch")
PID_DIGITS = 100000
_RUN_NAMESPACE = re.compile(rf"^involution-(?:{'|'.join(TEST_RUN_PURPOSES)})(?P<run>\d+)$")


def run_namespace(purpose: str) -> str:
    """This run's namespace for `purpose` (one of TEST_RUN_PURPOSES)."""
    if purpose not in TEST_RUN_PURPOSES:
        raise ValueError(f"purpose {purpose!r}: one of {', '.join(TEST_RUN_PURPOSES)}")
    return f"involution-{purpose}{os.getpid() % PID_DIGITS}"


def abandoned_runs(namespaces: list[str], live: set[int]) -> list[str]:
    """The test-run namespaces among `namespaces` whose run number no live process has."""
    return [
        name
        for name in namespaces
        if (found := _RUN_NAMESPACE.match(name)) and int(found["run"]) not in live
    ]


def live_runs() -> set[int]:
    """The run numbers of every process alive on this machine (a namespace whose number is
    among them is kept, even if another process now has that id: never one too many deleted)."""
    return {int(p.name) % PID_DIGITS for p in Path("/proc").iterdir() if p.name.isdigit()}


def _script(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLUSTER_SH), *args],
        env=go_runtime.for_daemons(os.environ),  # the cluster's daemons: the Go defaults
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


@dataclass(frozen=True)
class LocalCluster:
    kubeconfig: Path
    bin: Path
    prometheus_url: str

    def kubectl(
        self, *args: str, check: bool = True, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [
                str(self.bin / "kubectl"),
                "--kubeconfig",
                str(self.kubeconfig),
                "--context",
                CONTEXT,
                *args,
            ],
            capture_output=True,
            text=True,
            input=input_text,
            check=False,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} exited {result.returncode}\n"
                f"{result.stdout}{result.stderr}"
            )
        return result

    def delete_abandoned_runs(self) -> list[str]:
        """Delete the namespaces of test runs whose process is gone (a run killed before its
        cleanup, say by Ctrl-C): their pods would keep the node's CPU and memory from the next
        run's pods, which then stay Pending. Returns the names deleted (in the background)."""
        listed = self.kubectl("get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}")
        abandoned = abandoned_runs(listed.stdout.split(), live_runs())
        for name in abandoned:
            self.kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=false")
        return abandoned

    def get(self, *args: str) -> Any:
        """`kubectl get ARGS -o json`, parsed."""
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def exists(self, *args: str) -> bool:
        return self.kubectl("get", *args, check=False).returncode == 0

    def wait_gone(self, *args: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.exists(*args):
            if time.monotonic() > deadline:
                raise AssertionError(f"{' '.join(args)} still exists after {timeout:.0f}s")
            time.sleep(0.5)

    def apply_crds(self) -> None:
        result = _script("crds", timeout=600)
        if result.returncode != 0:
            raise AssertionError(f"cluster.sh crds failed:\n{result.stdout}{result.stderr}")

    def delete_crds(self) -> None:
        result = _script("delete-crds", timeout=600)
        if result.returncode != 0:
            raise AssertionError(f"cluster.sh delete-crds failed:\n{result.stdout}{result.stderr}")

    def bare_up(self) -> Path:
        """A second, empty API server (no CRDs) on the same etcd; its kubeconfig."""
        result = _script("bare-up", timeout=120)
        if result.returncode != 0:
            raise AssertionError(f"cluster.sh bare-up failed:\n{result.stdout}{result.stderr}")
        return Path(result.stdout.strip().splitlines()[-1])

    def bare_down(self) -> None:
        _script("bare-down", timeout=60)

    def node_ready(self) -> bool:
        """The real node is registered and Ready."""
        found = self.kubectl(
            "get",
            "node",
            NODE,
            "-o",
            'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
            check=False,
        )
        return found.returncode == 0 and found.stdout.strip() == "True"

    def service_port(self, namespace: str, name: str, port: str) -> tuple[str, int]:
        """(ClusterIP, port number) of a Service's named port: reachable from this machine
        through kube-proxy, as from any pod."""
        service = self.get("service", name, "-n", namespace)
        numbers = {p.get("name"): int(p["port"]) for p in service["spec"]["ports"]}
        return str(service["spec"]["clusterIP"]), numbers[port]


def running() -> bool:
    return _script("status").returncode == 0


@contextlib.contextmanager
def start_lock() -> Iterator[None]:
    """Held while this process checks and starts the cluster: an exclusive lock on a file
    beside the system's temporary files, released by the kernel if the process dies
    (tests/test_cluster_start_lock.py)."""
    lock = Path(tempfile.gettempdir()) / "involution-cluster-start.lock"
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def local_cluster(*, start: bool) -> LocalCluster:
    """The running cluster; with `start`, `scripts/cluster.sh up` first (cached: seconds).
    ToolMissing, saying how to get it, when it neither runs nor starts."""
    if not running():
        if not start:
            raise ToolMissing(HOW_TO)
        # Two chains of releases (two xdist workers) may ask at once: one starts it.
        with start_lock():
            if not running():
                up = _script("up", timeout=START_TIMEOUT)
                if up.returncode != 0:
                    raise ToolMissing(
                        f"scripts/cluster.sh up exited {up.returncode}:\n{up.stderr[-4000:]}"
                    )
    kubeconfig = Path(_script("kubeconfig").stdout.strip())
    folder = Path(_script("bin").stdout.strip())
    url = _script("prometheus-url").stdout.strip()
    return LocalCluster(kubeconfig=kubeconfig, bin=folder, prometheus_url=url)
