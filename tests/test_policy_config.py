"""tools/policy_client/config.py in process: policy config checked against a policy's JSON
schema with jsonschema, reported as `<policy>.<property>: ...`."""

from __future__ import annotations

from typing import Any

import pytest

from tools.policy_client import PolicyConfigEntry, PolicyInfo, PolicyPackError, schema_errors
from tools.policy_client.config import reconcile_policy_config

pytestmark = pytest.mark.policy

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "weights": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 100}},
        "mode": {"type": "string", "enum": ["strict", "lax"]},
        "byName": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
    "required": ["mode"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ({"mode": "strict", "weights": [0, 10.0, 100]}, []),  # 10.0: how the engine sends 10
        ({"mode": "strict", "weights": [10, 101]}, ["p.weights[1]: 101 is above the maximum 100"]),
        ({"mode": "strict", "weights": [-1]}, ["p.weights[0]: -1 is below the minimum 0"]),
        ({"mode": "strict", "weights": [True]}, ["p.weights[0]: True is not of type integer"]),
        ({"mode": "fast"}, ["p.mode: 'fast' is not one of ['strict', 'lax']"]),
        ({"mode": "lax", "byName": {"a": "x"}}, ["p.byName.a: 'x' is not of type integer"]),
        (
            {"mode": "lax", "typo": 1, "tpyo": 2},
            ["p: unknown property 'typo'", "p: unknown property 'tpyo'"],
        ),
        ({}, ["p: 'mode' is a required property"]),
        ("strict", ["p: 'strict' is not of type object"]),
    ],
)
def test_schema_errors(value: Any, errors: list[str]) -> None:
    assert schema_errors(value, SCHEMA, "p") == errors


def test_reconcile_layers_defaults_initial_all_and_per_policy() -> None:
    policies = {
        "a": PolicyInfo("a", "", "mandatory", {"n": {"type": "integer", "default": 2}}, (), False),
        "b": PolicyInfo("b", "", "advisory", {}, (), True),
    }
    initial = {"a": PolicyConfigEntry(None, {"n": 3})}
    given = {"all": PolicyConfigEntry("disabled", {}), "b": PolicyConfigEntry("mandatory", {})}
    assert reconcile_policy_config(policies, initial, given) == {
        "a": PolicyConfigEntry("disabled", {"n": 3}),
        "b": PolicyConfigEntry("mandatory", {}),
    }
    with pytest.raises(PolicyPackError, match=r"a\.n: 'x' is not of type integer"):
        reconcile_policy_config(policies, {}, {"a": PolicyConfigEntry(None, {"n": "x"})})
    with pytest.raises(PolicyPackError, match="names no policy of the pack: c"):
        reconcile_policy_config(policies, {}, {"c": PolicyConfigEntry("advisory", {})})
