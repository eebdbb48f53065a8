"""Release freezes: no step forward is rendered inside a freeze window.

The program records on the engine Deployments the freeze windows of the stack
(`involution.dev/freeze`), the release step (`release-step`) and when it was taken
(`release-step-at`). The pack reads weekly windows with its own parser and the pinned tzdata
package (it imports nothing of the program); `tests/test_contract.py` holds the two parsers
to the same answers across daylight-saving changes.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs

from involution_policies.approvals import approvers
from involution_policies.config import Schema, config_of, resource_policy, string_list
from involution_policies.kube import kind_of, release_info
from involution_policies.names import (
    FORWARD_STEPS,
    FREEZE_OVERRIDE_APPROVERS,
    TICKET_PATTERN,
)
from involution_policies.props import json_value, parse_time

WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY = "(" + "|".join(WEEKDAYS) + ")"
_WEEKLY = re.compile(
    rf"^{_DAY}\s+(\d{{1,2}}):(\d{{2}})\s*-\s*{_DAY}\s+(\d{{1,2}}):(\d{{2}})\s+(\S+)$",
    re.IGNORECASE,
)
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$")

FREEZE_SCHEMA: Final[Schema] = {
    "forwardSteps": string_list("release steps that move traffic forward", FORWARD_STEPS),
    "overrideApprovers": {
        "type": "integer",
        "minimum": 1,
        "default": FREEZE_OVERRIDE_APPROVERS,
        "description": "distinct approvers a releaseOverride needs to pass a freeze",
    },
    "ticketPattern": {
        "type": "string",
        "default": TICKET_PATTERN,
        "description": "regular expression of a change ticket id, e.g. CHG-2041",
    },
    "evaluationTime": {
        "type": "string",
        "default": "",
        "description": "ISO-8601 time of a step that records none; empty means now",
    },
}


@dataclass(frozen=True)
class Stretch:
    """One occurrence of a window, in UTC."""

    start: datetime
    end: datetime
    describe: str
    reason: str


@functools.cache
def zone(name: str) -> ZoneInfo | None:
    """The zone from the tzdata package, as the program reads it; None when it has none."""
    if not _ZONE_NAME.match(name):
        return None
    listing = importlib.resources.files("tzdata").joinpath("zones").read_text().split()
    if name not in listing:
        return None
    with importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/")).open("rb") as f:
        return ZoneInfo.from_file(f, key=name)


def weekly_stretch(text: str, reason: str, moment: datetime) -> Stretch | None:
    """The occurrence of a weekly window that covers `moment`; ValueError when `text` is not
    `<Day> HH:MM - <Day> HH:MM <zone>`."""
    match = _WEEKLY.match(text.strip())
    if match is None:
        raise ValueError(text)
    first, h1, m1, last, h2, m2, name = match.groups()
    tz = zone(name)
    if tz is None:
        raise ValueError(name)
    days = {d.lower(): n for n, d in enumerate(WEEKDAYS)}
    start_day, end_day = days[first.lower()], days[last.lower()]
    starts, ends = time(int(h1), int(m1)), time(int(h2), int(m2))
    length = (end_day - start_day) % 7 or (7 if ends <= starts else 0)

    def at(day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)

    instant = moment.astimezone(UTC)
    today = instant.astimezone(tz).date()
    for back in range(-1, 9):
        day = today - timedelta(days=back)
        if day.weekday() != start_day or at(day, starts) > instant:
            continue
        end = at(day + timedelta(days=length), ends)
        return Stretch(at(day, starts), end, text.strip(), reason) if instant < end else None
    return None


def covering(window: Any, moment: datetime) -> Stretch | None:
    """The stretch of a recorded window that covers `moment`; ValueError when unreadable."""
    if not isinstance(window, Mapping) or not isinstance(window.get("reason"), str):
        raise ValueError(window)
    reason = window["reason"]
    if isinstance(window.get("weekly"), str):
        return weekly_stretch(window["weekly"], reason, moment)
    start, end = parse_time(window.get("from")), parse_time(window.get("to"))
    if start is None or end is None:
        raise ValueError(window)
    if start <= moment < end:
        return Stretch(start, end, f"{window['from']} - {window['to']}", reason)
    return None


def _override_passes(raw: str | None, at: datetime, needed: int, pattern: str) -> bool:
    ok, record = json_value(raw)
    if not ok or not isinstance(record, dict):
        return False
    ticket = record.get("ticket")
    expires = parse_time(record.get("expiresAt"))
    return (
        isinstance(ticket, str)
        and re.match(pattern, ticket.strip()) is not None
        and len(approvers(record)) >= needed
        and (expires is None or at < expires)
    )


def release_freeze_respected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No step forward (start, advance, promote, retry, patch, a first deployment) is taken
    inside a release freeze window, unless a releaseOverride with a ticket and enough
    approvers passes it.

    A freeze is the release process's quiet time (weekends, year end): traffic only moves back
    to stable then. Reported once per stack, on the stable track, which every stack has.
    """
    info = release_info(args.props)
    if kind_of(args.resource_type) != "Deployment" or info is None or info.track != "stable":
        return
    if info.freeze is None:
        return
    cfg = config_of(args, FREEZE_SCHEMA)
    if info.step not in cfg.strings("forwardSteps"):
        return
    ok, windows = json_value(info.freeze)
    if not ok or not isinstance(windows, list):
        report("the freeze annotation is not a JSON list of windows", None)
        return
    at = parse_time(info.step_at) or cfg.now()
    for window in windows:
        try:
            stretch = covering(window, at)
        except ValueError:
            report(f"freeze window {window!r} cannot be read: no step forward is judged", None)
            continue
        if stretch is None:
            continue
        needed = cfg.integer("overrideApprovers")
        if _override_passes(info.override, at, needed, cfg.string("ticketPattern")):
            continue
        report(
            f"{info.step} at {at.isoformat()} inside the release freeze "
            f"{stretch.describe} ({stretch.reason}), in effect until {stretch.end.isoformat()}: "
            f"steps forward wait for its end, or a releaseOverride with a ticket and "
            f"{needed} approver(s)",
            None,
        )


POLICIES: Final = [
    resource_policy(
        "release-freeze-respected",
        EnforcementLevel.MANDATORY,
        release_freeze_respected,
        FREEZE_SCHEMA,
    ),
]
