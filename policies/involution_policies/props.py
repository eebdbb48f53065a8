"""Reading resource properties the way the engine hands them over.

The engine marshals inputs to a protobuf Struct, so a policy sees camelCase wire names, every
number as a float (3 arrives as 3.0), and read-only proxies instead of dicts and lists
(`collections.abc.Mapping` / `Sequence`, never `dict` / `list`). During a preview, values the
engine cannot know yet arrive as sentinel strings; touching one through the proxy raises
`UnknownValueError`. Every reader here turns that into `UNKNOWN`, so a check skips what it cannot
know instead of failing a preview on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

_SENTINELS: Final = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)


class Unknown:
    """A value the engine will only know after the update (preview only)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Final = Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN or (isinstance(value, str) and value in _SENTINELS)


def is_sequence(value: Any) -> bool:
    """A list as the engine sends it: a Sequence proxy, never a str."""
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def get(value: Any, *path: str | int) -> Any:
    """Walk mappings and sequences: None when a step is absent, UNKNOWN when one is unknown."""
    current = value
    for key in path:
        if is_unknown(current):
            return UNKNOWN
        try:
            if isinstance(key, int):
                if not is_sequence(current) or not -len(current) <= key < len(current):
                    return None
                current = current[key]
            else:
                if not isinstance(current, Mapping) or key not in current:
                    return None
                current = current[key]
        except UnknownValueError:
            return UNKNOWN
    return UNKNOWN if is_unknown(current) else current


def elements(value: Any) -> list[Any]:
    """The elements of a sequence (unknown ones as UNKNOWN); [] for anything else."""
    if not is_sequence(value):
        return []
    result: list[Any] = []
    for index in range(len(value)):
        result.append(get(value, index))
    return result


def entries(value: Any) -> list[tuple[str, Any]]:
    """The items of a mapping (unknown values as UNKNOWN); [] for anything else."""
    if not isinstance(value, Mapping):
        return []
    return [(str(key), get(value, key)) for key in list(value)]


def mapping(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def text(value: Any) -> str | None:
    """A known string, else None."""
    return value if isinstance(value, str) and not is_unknown(value) else None


def as_int(value: Any) -> int | None:
    """An integral number: 3, 3.0 (how the wire carries 3) or "3"; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and not is_unknown(value):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def string_map(value: Any) -> dict[str, str]:
    """Labels or annotations: the known string entries only."""
    return {
        key: item for key, item in entries(value) if isinstance(item, str) and not is_unknown(item)
    }


def plain(value: Any) -> Any:
    """A deep copy in plain dicts and lists (unknowns as UNKNOWN), for comparing structures."""
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in entries(value)}
    if is_sequence(value):
        return [plain(item) for item in elements(value)]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def json_value(raw: str | None) -> tuple[bool, Any]:
    """(ok, value) of a JSON annotation; (False, None) when it does not parse."""
    if raw is None:
        return False, None
    try:
        return True, json.loads(raw)
    except ValueError:
        return False, None


def parse_time(raw: Any) -> datetime | None:
    """An ISO-8601 time with a zone (`Z` allowed); None when absent, naive or malformed."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def utc_now() -> datetime:
    return datetime.now(UTC)
