"""Schemas of the Prometheus Operator's custom resources, from the CRDs the operator ships.

kubernetes-validate covers the built-in API only; a PrometheusRule or ServiceMonitor is
checked against the openAPIV3Schema of its CRD instead, taken from the operator's Go module
(served by the Go module proxy, cached by `go mod download`). Strict like the built-in check:
an object schema that lists its properties rejects any other, unless the CRD says it keeps
unknown fields.
"""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harness import yaml_load
from tests.tooling import require_tool

# The operator release whose CRDs a cluster with kube-prometheus-stack runs; bump together.
PROMETHEUS_OPERATOR_MODULE = "github.com/prometheus-operator/prometheus-operator"
PROMETHEUS_OPERATOR_VERSION = "v0.85.0"
CRD_FOLDER = "example/prometheus-operator-crd"


@functools.cache
def operator_module_dir() -> Path:
    go = require_tool("go", "golang (or the Go toolchain this machine ships)")
    result = subprocess.run(
        [
            go,
            "mod",
            "download",
            "-json",
            f"{PROMETHEUS_OPERATOR_MODULE}@{PROMETHEUS_OPERATOR_VERSION}",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        pytest.fail(f"go mod download failed: {result.stdout}{result.stderr}")
    return Path(json.loads(result.stdout)["Dir"])


def _strict(schema: Any) -> Any:
    """Forbid properties a schema does not list, as the API server's strict field validation
    does, except where the CRD preserves unknown fields."""
    if isinstance(schema, dict):
        strict = {key: _strict(value) for key, value in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            strict["additionalProperties"] = False
        return strict
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> strict JSON schema, for every CRD the operator ships."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted((operator_module_dir() / CRD_FOLDER).glob("*.yaml")):
        crd = yaml_load.load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = _strict(version["schema"]["openAPIV3Schema"])
            # metadata is the API server's business: the CRD leaves it an open object.
            schema["properties"]["metadata"] = {"type": "object"}
            schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


def crd_validation_errors(manifest: dict[str, Any]) -> list[str] | None:
    """Errors for a custom resource; None when the kind is not one of the operator's."""
    schema = crd_schemas().get((manifest.get("apiVersion", ""), manifest.get("kind", "")))
    if schema is None:
        return None
    name = f"{manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{name}: {'.'.join(str(p) for p in error.path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(manifest), key=lambda e: list(e.path))
    ]
