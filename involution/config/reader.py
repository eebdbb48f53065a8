"""Reading raw config text into typed values while collecting every problem.

Parsers never raise on bad input: they record a ConfigProblem and return a default, so one
ConfigError can list everything wrong with a stack at once.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from involution.errors import ConfigProblem
from involution.images import PINNED_FORM, ImageRef, ImageRefError
from involution.versions import TAG_FORM, EngineVersion, VersionError

T = TypeVar("T")
SECRET_SHOWN = "[secret]"


@dataclass(frozen=True)
class SecretText:
    """A secret config value: never shown in repr, logs or errors; components hand it to
    Pulumi only as a secret Output (`components.secrets.secret_output`)."""

    value: str = field(repr=False)

    def __str__(self) -> str:
        return SECRET_SHOWN


def strict_int(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text.strip()):
        raise ValueError(text)
    return int(text)


class ConfigReader:
    """Reads the `involution:` keys of one stack."""

    def __init__(self, raw: Mapping[str, str], secret_keys: frozenset[str]) -> None:
        self.raw = raw
        self.secret_keys = secret_keys
        self.problems: list[ConfigProblem] = []

    def problem(self, key: str, value: object, allowed: str, *, secret: bool = False) -> None:
        hidden = secret or key in self.secret_keys
        shown = SECRET_SHOWN if hidden and value is not None else value
        self.problems.append(ConfigProblem(key, shown, allowed))

    def text(self, key: str) -> str | None:
        """The raw value; an empty string means unset (the Pulumi.yaml default of optional keys)."""
        value = self.raw.get(key)
        if value is None or not str(value).strip():
            return None
        return str(value)

    def parsed(self, key: str, parse: Callable[[str], T], allowed: str, default: T) -> T:
        value = self.text(key)
        if value is None:
            return default
        try:
            return parse(value)
        except (ValueError, KeyError):
            self.problem(key, value, allowed)
            return default

    def integer(self, key: str, default: int, minimum: int, why: str = "") -> int:
        allowed = f"an integer >= {minimum}{why}"
        value = self.parsed(key, strict_int, allowed, default)
        if value < minimum:
            self.problem(key, self.text(key), allowed)
            return default
        return value

    def version(self, key: str) -> EngineVersion | None:
        value = self.text(key)
        if value is None:
            return None
        try:
            return EngineVersion.parse(value)
        except VersionError:
            self.problem(key, value, TAG_FORM + "; `latest` and untagged images are not allowed")
            return None

    def secret(self, key: str) -> SecretText | None:
        value = self.text(key)
        return None if value is None else SecretText(value)

    def image(self, key: str, default: str, what: str) -> ImageRef:
        """An image reference pinned as the policy pack's `image-pinned` rule demands
        (`ImageRef.pin_problem`), so a config the pack would refuse at preview fails here."""
        value = self.text(key) or default
        try:
            ref = ImageRef.parse(value)
        except ImageRefError:
            self.problem(key, value, f"{what}: {PINNED_FORM}")
            return ImageRef.parse(default)
        problem = ref.pin_problem
        if problem is not None:
            self.problem(key, value, f"{what}, {PINNED_FORM}: this one {problem}")
            return ImageRef.parse(default)
        return ref

    def json_object(self, key: str) -> Mapping[str, Any] | None:
        value = self.text(key)
        if value is None:
            return None
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            self.problem(key, value, "an object; set fields with `pulumi config set --path`")
            return None
        return parsed

    def fields(
        self,
        key: str,
        allowed_fields: Mapping[str, str],
        secret_fields: frozenset[str] = frozenset(),
    ) -> ObjectReader:
        """Reader for the fields of an object key; unknown fields are problems."""
        record = self.json_object(key) or {}
        for name in sorted(set(record) - set(allowed_fields)):
            self.problem(
                f"{key}.{name}",
                record[name],
                f"a field of {key}: {', '.join(sorted(allowed_fields))}",
                secret=name in secret_fields,
            )
        return ObjectReader(self, key, record, secret_fields)


class ObjectReader:
    """Typed access to the fields of one object key, e.g. `monitoring.latencyMs`."""

    def __init__(
        self,
        reader: ConfigReader,
        key: str,
        record: Mapping[str, Any],
        secret_fields: frozenset[str],
    ) -> None:
        self.reader = reader
        self.key = key
        self.record = record
        self.secret_fields = secret_fields

    @property
    def present(self) -> bool:
        return bool(self.record)

    def problem(self, name: str, value: object, allowed: str) -> None:
        self.reader.problem(f"{self.key}.{name}", value, allowed, secret=name in self.secret_fields)

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.record.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        if not isinstance(value, str):
            self.problem(name, value, "a string")
            return default
        return value.strip()

    def secret(self, name: str) -> SecretText | None:
        value = self.text(name)
        return None if value is None else SecretText(value)

    def number(
        self,
        name: str,
        default: float,
        *,
        minimum: float,
        maximum: float = math.inf,
        exclusive_minimum: bool = True,
        unit: str = "",
    ) -> float:
        raw = self.record.get(name, default)
        value: float | None = None
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            value = float(raw)
        elif isinstance(raw, str):
            with contextlib.suppress(ValueError):
                value = float(raw)
        in_range = (
            value is not None
            and math.isfinite(value)
            and (value > minimum if exclusive_minimum else value >= minimum)
            and value <= maximum
        )
        if value is None or not in_range:
            low = f"> {minimum:g}" if exclusive_minimum else f">= {minimum:g}"
            high = "" if maximum == math.inf else f" and <= {maximum:g}"
            self.problem(name, raw, f"a number {low}{high}{unit}")
            return default
        return value

    def pattern(self, name: str, default: str, regex: re.Pattern[str], allowed: str) -> str:
        value = self.text(name, default)
        assert value is not None
        if not regex.fullmatch(value):
            self.problem(name, value, allowed)
            return default
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, default)
        assert value is not None
        if value not in choices:
            self.problem(name, value, f"one of {', '.join(choices)}")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.record.get(name, default)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            self.problem(name, value, "true or false")
            return default
        return value
