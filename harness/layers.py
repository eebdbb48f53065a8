"""The layers of tests, fastest first: what each runs for real, and its per-test ceiling.

Every test module belongs to exactly one layer and says so with `pytestmark =
pytest.mark.<layer>` (tests/conftest.py refuses a test with none or two, so a module cannot
silently fall out of every `make test-<layer>`). A new layer is one line here and, if it
needs something CI starts, a `needs` check. `benchmarks.tests` times them one by one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.cluster import local as cluster
from harness.tooling import in_ci


def _cluster_absent() -> str | None:
    """Why the cluster layer cannot run here, or None. Under CI=true it always runs (its
    fixture starts the cluster, and fails when it cannot)."""
    if in_ci() or cluster.running():
        return None
    return cluster.HOW_TO


@dataclass(frozen=True)
class Layer:
    name: str
    runs: str  # what the layer runs for real: the marker's help text
    timeout: float  # seconds one test may take, fixtures it starts included
    needs: Callable[[], str | None] | None = None  # outside CI: why it cannot run, or None
    # Coverage measured (`make test`'s): the layers that run the product's code in process.
    # The others run it in processes of its own (the engine's program, the command, nginx)
    # and the tracer only slowed their instruments; the coverage gates (components,
    # policies) are the same with or without them.
    covered: bool = False


LAYERS: tuple[Layer, ...] = (
    Layer(
        "unit",
        "the program under Pulumi's mocks and the pure domain, in process",
        120,
        covered=True,
    ),
    Layer(
        "policy",
        "the policy pack, as the engine runs it (a gRPC process) and in process",
        180,
        covered=True,
    ),
    Layer(
        "tools",
        "real nginx, promtool, Prometheus, redis-server, the workflow linters, the Kubernetes"
        " schemas",
        240,
    ),
    Layer(
        "engine",
        "the real Pulumi engine (CLI, Python language host, Kubernetes provider), file backend",
        900,
    ),
    Layer("readme", "the README's own command blocks in a fresh clone, in one bash shell", 1800),
    Layer(
        "cluster",
        "the local cluster of scripts/cluster.sh (etcd, kube-apiserver, a real node)",
        900,
        needs=_cluster_absent,
    ),
    Layer(
        "pods",
        "releases on the local cluster's real node: real pods, real traffic, its Prometheus",
        1800,
        needs=_cluster_absent,
    ),
)
NAMES: tuple[str, ...] = tuple(layer.name for layer in LAYERS)


def layer(name: str) -> Layer:
    return next(each for each in LAYERS if each.name == name)


if __name__ == "__main__":
    print(" ".join(NAMES))
