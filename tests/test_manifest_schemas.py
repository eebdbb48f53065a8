"""Every manifest of every stack and phase, validated strictly against the Kubernetes schemas
of the stack's `kubernetesVersion`, and the Prometheus Operator's resources against its CRDs.

Strict means kubernetes-validate's `-strict` schema set (no unknown properties anywhere): a
misspelt field, which the API server may drop with no more than a warning, fails here before
any cluster sees it. The manifests are the program's own output under mocks (tools.render).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from harness.mockrun import MockRun
from involution.contract import DEFAULT_KUBERNETES_VERSION
from tests.conftest import STACKS, TRAFFIC_PHASES, canary_overrides
from tests.crd_schemas import crd_schemas, crd_validation_errors
from tests.tooling import missing
from tools.render import manifests

# One worker: kubernetes-validate builds its schema set once per process (~14 s), so the
# module on two workers paid it twice.
pytestmark = [pytest.mark.tools, pytest.mark.xdist_group("k8s_schemas")]

try:
    import kubernetes_validate  # type: ignore[import-untyped]
    import kubernetes_validate.utils  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - a dev requirement; CI must have it
    missing("kubernetes-validate is not installed (pip install -r requirements-dev.txt)")

Runner = Callable[..., MockRun]
Manifest = dict[str, Any]
ALL_PHASES = ("none", *TRAFFIC_PHASES)
VERSION = DEFAULT_KUBERNETES_VERSION  # for the crafted cases


def validation_errors(manifest: Manifest, version: str) -> list[str]:
    """What the strict schemas reject in `manifest`; a kind without a schema is an error too
    (kubernetes-validate's CLI only warns about it)."""
    custom = crd_validation_errors(manifest)
    if custom is not None:
        return custom
    name = f"{manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"
    try:
        kubernetes_validate.validate(manifest, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(part) for part in error.path) or "<root>"
        return [f"{name}: {path}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"{name}: {error.message}"]
    return []


_validated: set[str] = set()


def scenario(mocked: Runner, stack: str, phase: str) -> MockRun:
    return mocked(stack, canary_overrides(phase) if phase != "none" else None)


@pytest.mark.parametrize("stack", STACKS)
def test_target_version_has_its_own_schemas(mocked: Runner, stack: str) -> None:
    """kubernetes-validate silently falls back to the newest schemas older than the target
    (and fails below its oldest): each stack's kubernetesVersion must be one it ships."""
    shipped = {".".join(v.split(".")[:2]) for v in kubernetes_validate.utils.all_versions()}
    assert mocked(stack).outputs["kubernetesVersion"] in shipped, sorted(shipped)


@pytest.mark.parametrize("phase", ALL_PHASES)
@pytest.mark.parametrize("stack", STACKS)
def test_manifests_validate_strictly(mocked: Runner, stack: str, phase: str) -> None:
    run = scenario(mocked, stack, phase)
    version = run.outputs["kubernetesVersion"]
    objects = manifests(run)
    assert {"ConfigMap", "Deployment", "Service", "PrometheusRule"} <= {m["kind"] for m in objects}
    errors: list[str] = []
    for manifest in objects:
        # Most objects are identical across phases: validate each distinct one once.
        digest = version + json.dumps(manifest, sort_keys=True)
        if digest in _validated:
            continue
        found = validation_errors(manifest, version)
        errors.extend(found)
        if not found:
            _validated.add(digest)
    assert not errors, "\n".join(errors)


def test_every_custom_resource_kind_has_its_crd_schema(mocked: Runner) -> None:
    rendered = {
        (m["apiVersion"], m["kind"])
        for m in manifests(mocked("production"))
        if m["apiVersion"].startswith("monitoring.coreos.com/")
    }
    assert rendered == {
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("monitoring.coreos.com/v1", "PrometheusRule"),
        ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"),
    }
    assert rendered <= set(crd_schemas())


def _deployment(mocked: Runner) -> Manifest:
    objects = manifests(scenario(mocked, "production", "10"))
    found = next(m for m in objects if m["kind"] == "Deployment")
    assert validation_errors(found, VERSION) == []
    return copy.deepcopy(found)


def _rename_replicas(manifest: Manifest) -> None:
    manifest["spec"]["replica"] = manifest["spec"].pop("replicas")


def _misspell_container_field(manifest: Manifest) -> None:
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    container["imagePulPolicy"] = container.pop("imagePullPolicy", "IfNotPresent")


def _replicas_as_text(manifest: Manifest) -> None:
    manifest["spec"]["replicas"] = "three"


def _unknown_kind(manifest: Manifest) -> None:
    manifest["kind"] = "Deploymnet"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_rename_replicas, "'replica' was unexpected"),
        (_misspell_container_field, "'imagePulPolicy' was unexpected"),
        (_replicas_as_text, "'three' is not of type"),
        (_unknown_kind, "Couldn't find schema for kind Deploymnet"),
    ],
    ids=["replica-typo", "nested-typo", "wrong-type", "unknown-kind"],
)
def test_a_broken_manifest_is_rejected(
    mocked: Runner, mutate: Callable[[Manifest], None], expected: str
) -> None:
    manifest = _deployment(mocked)
    mutate(manifest)
    errors = validation_errors(manifest, VERSION)
    assert len(errors) == 1
    assert expected in errors[0]


def _rule(mocked: Runner) -> Manifest:
    objects = manifests(mocked("production"))
    found = next(m for m in objects if m["kind"] == "PrometheusRule")
    assert validation_errors(found, VERSION) == []
    return copy.deepcopy(found)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda m: m["spec"]["groups"][1]["rules"][0].update({"fro": "5m"}),
            "'fro' was unexpected",
        ),
        (lambda m: m["spec"]["groups"][0].pop("name"), "'name' is a required property"),
        (lambda m: m["spec"].update({"groups": "none"}), "'none' is not of type 'array'"),
    ],
    ids=["rule-field-typo", "group-without-name", "groups-not-a-list"],
)
def test_a_broken_custom_resource_is_rejected(
    mocked: Runner, mutate: Callable[[Manifest], object], expected: str
) -> None:
    manifest = _rule(mocked)
    mutate(manifest)
    errors = validation_errors(manifest, VERSION)
    assert errors and expected in errors[0], errors
