"""Pulumi.yaml's config schema and the program agree on keys, types and defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from involution import contract as settings
from involution.config.redis import (
    DEFAULT_EVICTION_POLICY,
    DEFAULT_MAX_MEMORY_MB,
    DEFAULT_REDIS_IMAGE,
)
from involution.settings import parse_settings

pytestmark = pytest.mark.unit

PROJECT = yaml.safe_load((Path(__file__).parent.parent / "Pulumi.yaml").read_text())
# A project schema cannot type objects.
OBJECT_KEYS = {
    "approval",
    "gates",
    "alerting",
    "monitoring",
    "imageBuild",
    "soak",
    "releaseAdoption",
    "releaseOverride",
    "network",
    "traffic",
    "resources",
    "freeze",  # a list of windows (or one recurrence string): not a project-schema type
}


def test_project_identity() -> None:
    assert PROJECT["name"] == "involution"
    assert PROJECT["runtime"]["name"] == "python"


def test_every_scalar_key_is_declared_with_a_description() -> None:
    declared: dict[str, Any] = PROJECT["config"]
    scalar_keys = settings.KNOWN_KEYS - OBJECT_KEYS - settings.SECRET_KEYS
    assert scalar_keys <= set(declared), scalar_keys - set(declared)
    assert set(declared) <= settings.KNOWN_KEYS
    for key, declaration in declared.items():
        assert declaration["type"] in {"string", "integer", "boolean", "array"}, key
        assert declaration["description"], key


def test_defaults_match_the_program() -> None:
    declared = PROJECT["config"]
    expected = {
        "environment": "dev",
        "namespace": settings.DEFAULT_NAMESPACE,
        "canaryVersion": "",
        "canaryPhase": "none",
        "imageRepository": settings.DEFAULT_IMAGE_REPOSITORY,
        "engineReplicas": settings.DEFAULT_ENGINE_REPLICAS,
        "routerReplicas": settings.DEFAULT_ROUTER_REPLICAS,
        "nginxImage": settings.DEFAULT_NGINX_IMAGE,
        "timeResolverVersion": settings.DEFAULT_TIME_RESOLVER_VERSION,
        "timeResolverRepository": settings.DEFAULT_TIME_RESOLVER_REPOSITORY,
        "timeResolverReplicas": settings.DEFAULT_TIME_RESOLVER_REPLICAS,
        "renderDirectory": "",
        "kubeContext": "",
        "redisImage": DEFAULT_REDIS_IMAGE,
        "kubernetesVersion": settings.DEFAULT_KUBERNETES_VERSION,
        "redisMaxMemoryMb": DEFAULT_MAX_MEMORY_MB,
        "redisEvictionPolicy": DEFAULT_EVICTION_POLICY,
    }
    assert {k: declared[k].get("default") for k in expected} == expected
    # stableVersion has no default: every stack must say what it serves.
    assert "default" not in declared["stableVersion"]


def test_defaults_parse_as_the_program_reads_them() -> None:
    raw = {key: str(d["default"]) for key, d in PROJECT["config"].items() if "default" in d}
    parsed = parse_settings(
        {**raw, "stableVersion": "v1.0.0"},
        stack="dev",
    )
    assert parsed.canary_version is None
    assert parsed.target.render_directory is None
    assert parsed.engine_replicas == settings.DEFAULT_ENGINE_REPLICAS
