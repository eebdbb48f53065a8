"""The `freeze` key: release freeze windows, read into a FreezeCalendar.

    involution:freeze:
      - from: "2026-12-23T00:00:00+01:00"
        to: "2027-01-04T08:00:00+01:00"
        reason: year-end freeze
      - weekly: Fri 16:00 - Mon 08:00 Europe/Berlin
        reason: no releases over the weekend

A bare recurrence is accepted for an entry (or for the whole key), with a generic reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from involution.config.reader import ConfigReader
from involution.release.freeze import (
    RFC3339_FORM,
    WEEKLY_FORM,
    FreezeCalendar,
    FreezeFormError,
    FreezeWindow,
    OneOffWindow,
    parse_rfc3339,
    parse_weekly,
)

KEY = "freeze"
BARE_REASON = "weekly release freeze"
WINDOW_FORMS = (
    "a window {from, to, reason} with RFC 3339 times, or {weekly, reason} with a weekly "
    "recurrence such as 'Fri 16:00 - Mon 08:00 Europe/Berlin'"
)
FORMS = (
    f"a list of windows, each {WINDOW_FORMS.removeprefix('a window ')} "
    "(`pulumi config set --path 'involution:freeze[0].weekly' 'Fri 16:00 - Mon 08:00 "
    "Europe/Berlin'` and `... freeze[0].reason 'no weekend releases'`)"
)
ONE_OFF_FIELDS = frozenset({"from", "to", "reason"})
WEEKLY_FIELDS = frozenset({"weekly", "reason"})


def read_freeze(reader: ConfigReader) -> FreezeCalendar:
    """Every window of `freeze`; each bad entry is one problem naming it, its value and the
    two forms allowed."""
    text = reader.text(KEY)
    if text is None:
        return FreezeCalendar()
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError:
        value = text  # a plain string: one weekly recurrence
    entries = [value] if isinstance(value, (str, dict)) else value
    if not isinstance(entries, list) or not entries:
        reader.problem(KEY, value, FORMS)
        return FreezeCalendar()
    windows: list[FreezeWindow] = []
    for index, entry in enumerate(entries):
        key = f"{KEY}[{index}]" if isinstance(value, list) else KEY
        try:
            windows.append(_window(entry, key))
        except FreezeFormError as error:
            reader.problem(key, entry, str(error))
    return FreezeCalendar(tuple(windows))


def _window(entry: object, key: str) -> FreezeWindow:
    if isinstance(entry, str):
        return parse_weekly(entry, BARE_REASON, key, entry)
    if not isinstance(entry, Mapping):
        raise FreezeFormError(WINDOW_FORMS)
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise FreezeFormError(f"a `reason` (every refusal shows it) in {WINDOW_FORMS}")
    if "weekly" in entry:
        _only(entry, WEEKLY_FIELDS)
        weekly = entry["weekly"]
        if not isinstance(weekly, str):
            raise FreezeFormError(f"`weekly` as {WEEKLY_FORM}")
        return parse_weekly(weekly, reason.strip(), key, dict(entry))
    _only(entry, ONE_OFF_FIELDS)
    start, end = (_time(entry.get(name), name) for name in ("from", "to"))
    if not start < end:
        raise FreezeFormError("`from` before `to`")
    return OneOffWindow(
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        reason=reason.strip(),
        key=key,
        source=dict(entry),
        offset=start.tzinfo,
    )


def _only(entry: Mapping[str, Any], allowed: frozenset[str]) -> None:
    extra = sorted(set(entry) - allowed)
    if extra:
        raise FreezeFormError(
            f"only the fields {', '.join(sorted(allowed))} (not {', '.join(extra)})"
        )


def _time(value: object, name: str) -> Any:
    if not isinstance(value, str):
        raise FreezeFormError(f"`{name}` as {RFC3339_FORM}")
    try:
        return parse_rfc3339(value)
    except FreezeFormError as error:
        raise FreezeFormError(f"`{name}` as {error}") from None
