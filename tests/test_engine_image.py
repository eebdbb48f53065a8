"""EngineImage: a configured build context builds, pushes and pins the released version."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.mockrun import MockRun
from tests.conftest import canary_overrides

pytestmark = pytest.mark.unit

Runner = Callable[..., MockRun]
BUILD = {
    "context": "./engine",
    "registry": "registry.example.com",
    "username": "ci-bot",
    "password": "registry-token-not-for-logs",
}


def image_of(run: MockRun, deployment: str) -> str:
    spec = run.named("Deployment", deployment).inputs["spec"]["template"]["spec"]
    image: str = spec["containers"][0]["image"]
    return image


def test_canary_version_is_built_pushed_and_pinned_by_digest(mocked: Runner) -> None:
    run = mocked("production", {**canary_overrides("10"), "imageBuild": BUILD})
    (image,) = [r for r in run.resources if r.type == "docker:index/image:Image"]
    assert image.inputs["imageName"] == "registry.example.com/involution-engine:v1.3.0"
    assert image.inputs["build"]["context"] == "./engine"
    assert image.inputs["build"]["args"] == {"ENGINE_VERSION": "v1.3.0"}
    assert image.inputs["registry"]["server"] == "registry.example.com"
    assert image.inputs["skipPush"] is False
    assert any(path.startswith("registry") for path in image.secret_paths)
    canary = image_of(run, "engine-canary")
    assert canary.startswith("registry.example.com/involution-engine@sha256:")
    assert len(canary.rsplit(":", 1)[1]) == 64
    # The other track pulls from the same registry, by its immutable version tag.
    assert image_of(run, "engine-stable") == "registry.example.com/involution-engine:v1.2.2"


def test_without_canary_the_stable_version_is_built(mocked: Runner) -> None:
    run = mocked("staging", {"imageBuild": BUILD})
    assert "@sha256:" in image_of(run, "engine-stable")


def test_off_in_dev(mocked: Runner) -> None:
    run = mocked("dev", {"imageBuild": BUILD})
    assert not [r for r in run.resources if r.type.startswith("docker:")]
    assert image_of(run, "engine-stable") == "involution-engine:v1.2.2"
