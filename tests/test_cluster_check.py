"""The cluster check's decisions without a cluster: render mode and a disabled monitoring ask
nothing, a kubeconfig without the context or an API server that does not answer stop
nothing (the provider reports those), and missing kinds are named."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import pytest

from harness.live.net import free_port
from harness.scenarios import TEST_REDIS_PASSWORD
from involution.settings import ClusterTarget, Settings, parse_settings
from program import cluster_check
from program.cluster_check import Discovery, discovery, missing_monitoring_kinds

pytestmark = pytest.mark.unit


def staging(**target: str | None) -> Settings:
    raw = {
        "environment": "staging",
        "stableVersion": "v1.2.2",
        "redisPassword": TEST_REDIS_PASSWORD,
        "kubeContext": "involution-local",
    }
    settings = parse_settings(raw, stack="local")
    return replace(settings, target=replace(settings.target, **target)) if target else settings


@dataclass(frozen=True)
class Served(Discovery):
    served: dict[str, set[str] | None]

    def close(self) -> None:
        pass

    def kinds(self, group_version: str) -> set[str] | None:
        return self.served.get(group_version, set())


def served(**by_version: set[str] | None) -> Served:
    return Served(
        api=cast(Any, None),  # never used: kinds and close are the stubs
        server="https://127.0.0.1:1",
        served={f"monitoring.coreos.com/{v}": kinds for v, kinds in by_version.items()},
    )


def test_missing_kinds_are_named_and_an_unclear_answer_names_none() -> None:
    assert missing_monitoring_kinds(served()) == [
        "PrometheusRule",
        "ServiceMonitor",
        "AlertmanagerConfig",
    ]
    full = served(v1={"PrometheusRule", "ServiceMonitor", "Probe"}, v1alpha1={"AlertmanagerConfig"})
    assert missing_monitoring_kinds(full) == []
    assert missing_monitoring_kinds(served(v1={"ServiceMonitor"}, v1alpha1=set())) == [
        "PrometheusRule",
        "AlertmanagerConfig",
    ]
    assert missing_monitoring_kinds(served(v1=None)) is None


def test_render_mode_and_disabled_monitoring_ask_no_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(context: str | None) -> Discovery | None:
        raise AssertionError("asked a cluster")

    monkeypatch.setattr(cluster_check, "discovery", refuse)
    assert cluster_check.cluster_problems(staging(render_directory="rendered/x")) == []
    settings = staging()
    disabled = replace(settings, monitoring=replace(settings.monitoring, enabled=False))
    assert cluster_check.cluster_problems(disabled) == []


def test_a_cluster_without_the_crds_is_one_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    # Earlier tests of the session leave Pulumi's mocks set, which the check stands aside for.
    monkeypatch.setattr(cluster_check, "mocked", lambda: False)
    monkeypatch.setattr(cluster_check, "discovery", lambda context: served())
    (problem,) = cluster_check.cluster_problems(staging())
    assert problem.describe() == (
        "involution:monitoring.enabled = 'true': the cluster has no monitoring.coreos.com CRDs "
        "(PrometheusRule, ServiceMonitor, AlertmanagerConfig) at https://127.0.0.1:1 "
        "(involution-local): install the Prometheus Operator's CRDs or set monitoring.enabled "
        "false"
    )


def kubeconfig(path: Path, port: int) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\n"
        "    insecure-skip-tls-verify: true\n"
        "users:\n- name: u\n  user:\n    token: t\n"
        "contexts:\n- name: involution-local\n  context:\n    cluster: c\n    user: u\n"
        "current-context: involution-local\n"
    )
    return path


def test_no_context_or_no_answer_is_left_to_the_provider(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    assert discovery("involution-local") is None
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "kubeconfig", free_port())))
    assert discovery("elsewhere") is None
    cluster = discovery("involution-local")
    assert cluster is not None
    assert cluster.server == f"https://127.0.0.1:{cluster.server.rsplit(':', 1)[1]}"
    assert missing_monitoring_kinds(cluster) is None  # connection refused: no answer
    assert cluster_check.cluster_problems(staging()) == []


def test_the_target_of_a_stack_file_is_what_the_check_reads() -> None:
    assert staging().target == ClusterTarget(render_directory=None, kube_context="involution-local")
