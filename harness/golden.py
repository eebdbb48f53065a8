"""A stable, reviewable text form of a mocked run: what each resource receives."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from harness.mockrun import MockRun


def plain_numbers(value: Any) -> Any:
    """Wire numbers arrive as floats; show 3 as 3 so diffs read like the manifests."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: plain_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_numbers(v) for v in value]
    return value


def mask_secrets(inputs: Mapping[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    """Golden files are committed: secret inputs appear as `[secret]`, never as values."""
    masked = copy.deepcopy(dict(inputs))
    for path in paths:
        node: Any = masked
        *parents, leaf = path.split(".")
        for part in parents:
            node = node[part]
        value = node[leaf]
        # Keep the shape (a Secret's stringData stays a map) so masked manifests still validate.
        node[leaf] = (
            {key: "[secret]" for key in value} if isinstance(value, Mapping) else "[secret]"
        )
    return masked


def golden_document(run: MockRun) -> str:
    resources = sorted(
        (
            {
                "type": r.type,
                "name": r.name,
                "inputs": plain_numbers(mask_secrets(r.inputs, r.secret_paths)),
                **({"secretInputs": list(r.secret_paths)} if r.secret_paths else {}),
            }
            for r in run.resources
            if r.custom
        ),
        key=lambda r: (r["type"], r["name"]),
    )
    document = {"stack": run.stack, "outputs": plain_numbers(run.outputs), "resources": resources}
    return yaml.safe_dump(document, sort_keys=True, width=4096, allow_unicode=True)
