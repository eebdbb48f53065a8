"""Policy config: a pack's per-environment config, read and validated as the engine does.

`--policy-pack-config` JSON (`{"<policy>": "<level>" | {"enforcementLevel": ..., <props>},
"all": ...}`) is reconciled over the schema defaults and the pack's initial config, `all`
first, then per policy, and validated against each policy's JSON schema (with `jsonschema`,
as the engine validates with a JSON Schema library). Stricter than the engine on one point:
a key that is no policy of the pack, or a property no schema declares, is an error, so a typo
cannot silently weaken a policy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

PROJECT_DIR = Path(__file__).resolve().parents[2]
PACK_DIR = PROJECT_DIR / "policies"
CONFIG_DIR = PACK_DIR / "config"
LEVELS = ("advisory", "mandatory", "remediate", "disabled")


class PolicyPackError(RuntimeError):
    """The pack did not start, or the policy config does not fit its schemas."""


@dataclass(frozen=True)
class PolicyConfigEntry:
    """One entry of a policy config: an enforcement level and/or properties."""

    level: str | None
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    level: str
    schema: Mapping[str, Any]
    required: tuple[str, ...]
    stack: bool


def parse_policy_config(document: Mapping[str, Any]) -> dict[str, PolicyConfigEntry]:
    """A `--policy-pack-config` document, read as the engine reads it."""
    config: dict[str, PolicyConfigEntry] = {}
    for name, value in document.items():
        level: str | None = None
        properties: dict[str, Any] = {}
        if isinstance(value, str):
            level = value
        elif isinstance(value, Mapping):
            properties = dict(value)
            raw_level = properties.pop("enforcementLevel", None)
            if raw_level is not None and not isinstance(raw_level, str):
                raise PolicyPackError(f"{name}: enforcementLevel must be a string")
            level = raw_level
        else:
            raise PolicyPackError(f"{name}: {value!r} is not a valid value; a string or object")
        if level is not None and level not in LEVELS:
            raise PolicyPackError(f"{name}: {level!r} is not a valid enforcement level")
        if level is None and not properties:
            continue
        config[name] = PolicyConfigEntry(level, properties)
    return config


def load_policy_config(path: Path) -> dict[str, PolicyConfigEntry]:
    text = path.read_text()
    if not text.strip():
        return {}
    return parse_policy_config(json.loads(text))


def _path(where: str, path: Iterable[str | int]) -> str:
    return where + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)


def _describe(error: jsonschema.ValidationError, where: str) -> list[str]:
    """One schema error in the words the pack's users read (`policy.property: ...`)."""
    at = _path(where, error.absolute_path)
    value, expected = error.instance, error.validator_value
    match error.validator:
        case "type":
            return [f"{at}: {value!r} is not of type {expected}"]
        case "enum":
            return [f"{at}: {value!r} is not one of {expected}"]
        case "minimum":
            return [f"{at}: {value} is below the minimum {expected}"]
        case "maximum":
            return [f"{at}: {value} is above the maximum {expected}"]
        case "additionalProperties" if isinstance(value, Mapping):
            schema = error.schema if isinstance(error.schema, Mapping) else {}
            known = schema.get("properties", {})
            return [f"{at}: unknown property {key!r}" for key in value if key not in known]
        case _:
            return [f"{at}: {error.message}"]


def schema_errors(value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    """Every way a value does not fit a JSON schema (draft 7, as Pulumi's config schemas are);
    an integral double such as 2.0 counts as an integer, as the engine sends numbers."""
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
    return [message for error in errors for message in _describe(error, where)]


def reconcile_policy_config(
    policies: Mapping[str, PolicyInfo],
    initial: Mapping[str, PolicyConfigEntry],
    given: Mapping[str, PolicyConfigEntry],
) -> dict[str, PolicyConfigEntry]:
    """Schema defaults, then the pack's initial config, then the given config; `all` sets the
    level of every policy before per-policy entries apply (the engine's ReconcilePolicyPackConfig).
    """
    unknown = sorted(set(given) - set(policies) - {"all"})
    if unknown:
        raise PolicyPackError(f"policy config names no policy of the pack: {', '.join(unknown)}")
    result = {
        name: PolicyConfigEntry(
            info.level,
            {key: prop["default"] for key, prop in info.schema.items() if "default" in prop},
        )
        for name, info in policies.items()
    }
    for layer in (initial, given):
        everything = layer.get("all")
        if everything is not None and everything.level is not None:
            result = {
                name: PolicyConfigEntry(everything.level, e.properties)
                for name, e in result.items()
            }
        for name, entry in layer.items():
            if name == "all" or name not in result:
                continue
            current = result[name]
            result[name] = PolicyConfigEntry(
                entry.level or current.level, {**current.properties, **entry.properties}
            )
    errors: list[str] = []
    for name, entry in result.items():
        info = policies[name]
        schema = {
            "type": "object",
            "properties": info.schema,
            "required": list(info.required),
            "additionalProperties": False,
        }
        errors += schema_errors(dict(entry.properties), schema, name)
    if errors:
        raise PolicyPackError("policy config does not fit the pack: " + "; ".join(errors))
    return result
