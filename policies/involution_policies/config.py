"""Policy config: one JSON schema per policy, its defaults the single source of truth.

The engine fills a policy's config from the schema defaults, then the pack's initial config,
then `--policy-pack-config` (`{"<policy>": {"enforcementLevel": ..., <props>}, "all": ...}`),
validates it against the schema and sends it with `Configure`. The pack still applies the
defaults itself, so a policy behaves the same when no config arrives at all. Numbers come back
from the engine as floats (2 -> 2.0): read them with `integer`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from involution_policies.props import as_int, is_sequence, parse_time, utc_now

Schema = Mapping[str, Mapping[str, Any]]
ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]


@dataclass(frozen=True)
class Config:
    """A policy's config with the schema defaults underneath."""

    given: Mapping[str, Any]
    schema: Schema

    def value(self, key: str) -> Any:
        if key in self.given and self.given[key] is not None:
            return self.given[key]
        return self.schema[key].get("default")

    def integer(self, key: str) -> int:
        number = as_int(self.value(key))
        if number is None:
            raise ValueError(f"policy config {key!r} must be an integer")
        return number

    def integers(self, key: str) -> list[int]:
        values = [as_int(item) for item in self.value(key) or []]
        return [item for item in values if item is not None]

    def string(self, key: str) -> str:
        return str(self.value(key) or "")

    def strings(self, key: str) -> list[str]:
        raw = self.value(key)
        return [str(item) for item in raw] if is_sequence(raw) else []

    def flag(self, key: str) -> bool:
        return bool(self.value(key))

    def int_map(self, key: str) -> dict[str, int]:
        raw = self.value(key)
        result: dict[str, int] = {}
        if isinstance(raw, Mapping):
            for name, item in raw.items():
                number = as_int(item)
                if number is not None:
                    result[str(name)] = number
        return result

    def label_sets(self, key: str) -> list[dict[str, str]]:
        raw = self.value(key)
        if not is_sequence(raw):
            return []
        return [
            {str(k): str(v) for k, v in item.items()} for item in raw if isinstance(item, Mapping)
        ]

    def labels(self, key: str) -> dict[str, str]:
        raw = self.value(key)
        return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}

    def now(self, key: str = "evaluationTime") -> datetime:
        """The clock: the configured time when set (tests, replaying a past release), else now."""
        return parse_time(self.value(key)) or utc_now()


def config_of(args: ResourceValidationArgs | StackValidationArgs, schema: Schema) -> Config:
    return Config(args.get_config(), schema)


def describe(check: Callable[..., None]) -> str:
    """A policy's description is the first paragraph of its check's docstring (what it
    enforces); the rest of the docstring says why."""
    doc = (check.__doc__ or "").strip()
    if not doc:
        raise ValueError(f"{check.__name__} needs a docstring saying what it enforces and why")
    return " ".join(doc.split("\n\n")[0].split())


def _schema(schema: Schema | None) -> PolicyConfigSchema | None:
    if not schema:
        return None
    return PolicyConfigSchema(properties={key: dict(value) for key, value in schema.items()})


def resource_policy(
    name: str,
    level: EnforcementLevel,
    check: ResourceCheck,
    schema: Schema | None = None,
) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name=name,
        description=describe(check),
        validate=check,
        enforcement_level=level,
        config_schema=_schema(schema),
    )


def stack_policy(
    name: str,
    level: EnforcementLevel,
    check: StackCheck,
    schema: Schema | None = None,
) -> StackValidationPolicy:
    return StackValidationPolicy(
        name=name,
        description=describe(check),
        validate=check,
        enforcement_level=level,
        config_schema=_schema(schema),
    )


def string_list(description: str, default: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "string"},
        "default": list(default),
        "description": description,
    }
