"""The local cluster's own parts, without a cluster: the Prometheus configuration written from
the program's ServiceMonitors (checked by promtool), the targets of Kubernetes discovery's
`endpointslice` role, the stand-in images' layers and names, the share sample sizes, and the
cluster scripts under shellcheck."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.cluster.pods import SHARE_TOLERANCE_POINTS, share_sample_size
from harness.cluster.stand_ins import ENGINE_VERSIONS, ERRORS_VERSION, STABLE_VERSION
from harness.mockrun import MockRun
from harness.paths import PROJECT_DIR
from tests.tooling import require_tool
from tools.image_layers import Entry, debian_files, parent_dirs
from tools.node_images import ImageSpec, normalized
from tools.servicemonitor_scrape import (
    endpointslice_targets,
    jobs_of,
    prometheus_config,
)

pytestmark = pytest.mark.tools


def monitors(run: MockRun) -> list[dict[str, Any]]:
    """The ServiceMonitors of a mocked run, as the API server would list them."""
    return [
        {"metadata": {**m.metadata, "namespace": "involution"}, "spec": m.inputs["spec"]}
        for m in run.of_kind("ServiceMonitor")
    ]


def test_one_job_per_servicemonitor_endpoint_with_the_operators_relabelings(
    mocked: Callable[..., MockRun], tmp_path: Path
) -> None:
    jobs = jobs_of(monitors(mocked("staging")), tmp_path)
    by_name = {job.name: job for job in jobs}
    assert set(by_name) == {
        "serviceMonitor/involution/involution-engine/0",
        "serviceMonitor/involution/involution-router/0",
    }
    engine = by_name["serviceMonitor/involution/involution-engine/0"].config
    assert engine["scrape_interval"] == "15s" and engine["metrics_path"] == "/metrics"
    assert engine["honor_labels"] is False
    relabel = engine["relabel_configs"]
    keeps = [r for r in relabel if r.get("action") == "keep"]
    assert keeps == [
        {
            "action": "keep",
            "source_labels": [
                "__meta_kubernetes_service_label_app_kubernetes_io_name",
                "__meta_kubernetes_service_labelpresent_app_kubernetes_io_name",
            ],
            "regex": "(involution-engine);true",
        },
        {
            "action": "keep",
            "source_labels": ["__meta_kubernetes_endpointslice_port_name"],
            "regex": "http",
        },
    ]
    targets = {r["target_label"] for r in relabel if "target_label" in r}
    # The series the alert rules and the analysis select on: namespace and track.
    assert {"namespace", "track", "version", "pod", "service", "job", "endpoint"} <= targets


def test_the_configuration_passes_promtool(mocked: Callable[..., MockRun], tmp_path: Path) -> None:
    promtool = require_tool("promtool", "prometheus")
    jobs = jobs_of(monitors(mocked("staging")), tmp_path / "targets")
    config = prometheus_config(jobs, tmp_path / "rules")
    (tmp_path / "rules").mkdir()
    path = tmp_path / "prometheus.yml"
    path.write_text(json.dumps(config))
    result = subprocess.run(
        [promtool, "check", "config", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_endpointslice_targets_carry_kubernetes_discoverys_labels() -> None:
    eps = {
        "metadata": {
            "name": "engine-stable-abcde",
            "namespace": "ns",
            "labels": {"kubernetes.io/service-name": "engine-stable"},
        },
        "addressType": "IPv4",
        "endpoints": [
            {
                "addresses": ["10.244.0.9"],
                "conditions": {"ready": True},
                "targetRef": {"kind": "Pod", "name": "engine-stable-1"},
            }
        ],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }
    service = {"metadata": {"name": "engine-stable", "labels": {"track": "stable"}}}
    pod = {
        "metadata": {"name": "engine-stable-1", "labels": {"app.kubernetes.io/name": "x"}},
        "spec": {"containers": [{"name": "engine", "ports": [{"containerPort": 8080}]}]},
        "status": {"podIP": "10.244.0.9", "phase": "Running"},
    }
    (group,) = endpointslice_targets(
        [eps], {"ns/engine-stable": service}, {"ns/engine-stable-1": pod}
    )
    assert group["targets"] == ["10.244.0.9:8080"]
    labels = group["labels"]
    assert labels["__meta_kubernetes_service_label_track"] == "stable"
    assert labels["__meta_kubernetes_endpointslice_port_name"] == "http"
    assert labels["__meta_kubernetes_endpointslice_address_target_kind"] == "Pod"
    assert labels["__meta_kubernetes_pod_container_name"] == "engine"
    assert labels["__meta_kubernetes_pod_label_app_kubernetes_io_name"] == "x"
    assert labels["__meta_kubernetes_pod_phase"] == "Running"


def test_image_names_as_containerd_stores_them() -> None:
    assert normalized("involution-engine:v1.2.2") == "docker.io/library/involution-engine:v1.2.2"
    assert normalized("involution-local/nginx:1.22.1") == "docker.io/involution-local/nginx:1.22.1"
    assert normalized("registry.example.com/x:1") == "registry.example.com/x:1"
    assert normalized("localhost:5000/x:1") == "localhost:5000/x:1"


def test_a_layer_is_reproducible_and_has_its_folders(tmp_path: Path) -> None:
    program = tmp_path / "engine"
    program.write_bytes(b"\x7fELF stand-in")
    entries = (Entry("usr/bin/engine", source=program), Entry("usr/bin/sh", link="dash"))
    spec = ImageSpec("x:1", (*entries, *parent_dirs(entries)), ("/usr/bin/engine",))
    assert spec.layer() == spec.layer()
    assert spec.key(spec.layer()) != ImageSpec("x:1", spec.entries, ("/other",)).key(spec.layer())
    assert {e.path for e in parent_dirs(entries)} == {"usr", "usr/bin"}


def test_debian_binaries_come_with_their_libraries_and_loader() -> None:
    nginx = require_tool("nginx", "nginx-light")
    paths = {e.path: e for e in debian_files([nginx])}
    assert "usr/sbin/nginx" in paths
    assert any(p.startswith("usr/lib/x86_64-linux-gnu/libc.so") for p in paths)
    # ldd's /lib64 loader, a link inside the image to where merged /usr keeps it.
    loader = paths["usr/lib64/ld-linux-x86-64.so.2"]
    assert loader.link == "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"


def test_the_stand_in_versions_cover_the_local_stack_and_a_faulty_canary() -> None:
    assert STABLE_VERSION in ENGINE_VERSIONS
    stack = (PROJECT_DIR / "Pulumi.local.yaml").read_text()
    assert f"involution:stableVersion: {STABLE_VERSION}" in stack
    assert ENGINE_VERSIONS[ERRORS_VERSION].error_percent == 5.0


@pytest.mark.parametrize(("routers", "requests"), [(1, 2000), (2, 2000), (3, 3000), (5, 5000)])
def test_share_sample_size_keeps_the_routers_picks_a_tenth_of_the_tolerance(
    routers: int, requests: int
) -> None:
    n = share_sample_size(routers)
    assert n == requests
    # One pick off per router sequence: a tenth of the tolerance at most.
    assert 100.0 * routers / n <= SHARE_TOLERANCE_POINTS / 10


def test_share_sample_size_needs_a_router() -> None:
    with pytest.raises(ValueError, match="routers: 0"):
        share_sample_size(0)


@pytest.mark.tools
def test_the_cluster_scripts_pass_shellcheck() -> None:
    shellcheck = require_tool("shellcheck", "shellcheck")
    scripts = sorted(str(p) for p in (PROJECT_DIR / "scripts").rglob("*.sh"))
    assert {"cluster.sh", "node.sh"} <= {Path(p).name for p in scripts}
    result = subprocess.run(
        [shellcheck, *scripts, str(PROJECT_DIR / ".ci" / "run")],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT_DIR,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
