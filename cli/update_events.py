"""The stack's outputs as an update recorded them, read from its engine events.

`pulumi up --event-log FILE` (with PULUMI_DEBUG_COMMANDS=true, as the Automation API runs it)
writes one JSON engine event a line; the stack resource's `resOutputsEvent` carries the
outputs the update left, secrets masked as `pulumi stack output --json` masks them. Reading
them there saves a `pulumi stack output` (0.2 s of CPU) after every step.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

STACK_TYPE = "pulumi:pulumi:Stack"
# The environment the CLI needs to accept --event-log.
EVENT_LOG_ENV = {"PULUMI_DEBUG_COMMANDS": "true"}


def stack_outputs(lines: Iterable[str]) -> dict[str, Any] | None:
    """The stack resource's outputs in the last of its `resOutputsEvent`s; None when the
    events hold none (or a line is not JSON): the caller then asks the engine instead."""
    found: dict[str, Any] | None = None
    for line in lines:
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            return None
        metadata = (event.get("resOutputsEvent") or {}).get("metadata") or {}
        if metadata.get("type") != STACK_TYPE:
            continue
        outputs = (metadata.get("new") or {}).get("outputs")
        if isinstance(outputs, dict):
            found = outputs
    return found
