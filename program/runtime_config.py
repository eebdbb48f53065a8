"""Reads the stack's `involution:` config from the Pulumi runtime, once."""

from __future__ import annotations

from datetime import UTC, datetime

import pulumi
from pulumi.runtime import config as runtime_config

from involution.contract import NAMESPACE
from involution.errors import ConfigError
from involution.settings import Settings, parse_settings


class StackConfigError(ConfigError, pulumi.RunError):
    """A ConfigError as the engine reports user mistakes: one message, no traceback."""


def raw_config() -> dict[str, str]:
    """Every `involution:*` value as the engine handed it over (objects arrive as JSON text)."""
    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{NAMESPACE}:"
    return {
        key[len(prefix) :]: value if isinstance(value, str) else str(value)
        for key, value in merged.items()
        if key.startswith(prefix)
    }


def read_settings(now: datetime | None = None) -> Settings:
    """Parse and validate the stack config; raises ConfigError before any resource exists."""
    try:
        return parse_settings(raw_config(), stack=pulumi.get_stack(), now=now or datetime.now(UTC))
    except ConfigError as error:
        raise StackConfigError(list(error.problems)) from None
