"""Release freeze windows: when no step forward may be taken.

A window is either one-off (`from` and `to`, RFC 3339 times with their offsets) or a weekly
recurrence in wall-clock time of an IANA time zone (`Fri 16:00 - Mon 08:00 Europe/Berlin`).
Weekly times are resolved by the time zone database shipped in the pinned `tzdata` package,
never by the host's and never by a hand-written offset: a window that spans a daylight-saving
change is an hour shorter or longer in UTC, as the wall clock says. Every comparison is made in
UTC: two aware datetimes that share a tzinfo compare (and subtract) as wall times in Python,
which is wrong across such a change.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKLY_FORM = (
    "a weekly recurrence `<Day> HH:MM - <Day> HH:MM <IANA time zone>`, "
    "e.g. `Fri 16:00 - Mon 08:00 Europe/Berlin` (days Mon..Sun)"
)
RFC3339_FORM = "an RFC 3339 time with its offset, e.g. 2026-12-23T00:00:00+01:00 or ...Z"
_DAY = "(" + "|".join(WEEKDAYS) + ")"
_WEEKLY = re.compile(
    rf"^{_DAY}\s+(\d{{1,2}}):(\d{{2}})\s*-\s*{_DAY}\s+(\d{{1,2}}):(\d{{2}})\s+(\S+)$",
    re.IGNORECASE,
)
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$"
)
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$")
# Windows chained end to end (a weekly window inside a year-end one): how far `lifted_at` looks.
_MAX_CHAIN = 64


class FreezeFormError(ValueError):
    """A window that is not one of the two forms; the message says what would be allowed."""


@functools.cache
def _zone_names() -> frozenset[str]:
    listing = importlib.resources.files("tzdata").joinpath("zones").read_text()
    return frozenset(line.strip() for line in listing.splitlines() if line.strip())


@functools.cache
def time_zone(name: str) -> ZoneInfo:
    """The zone `name` from the pinned tzdata package (not the host's /usr/share/zoneinfo)."""
    if not _ZONE_NAME.match(name) or name not in _zone_names():
        raise FreezeFormError(
            f"an IANA time zone name such as Europe/Berlin in place of {name!r} "
            "(a name of the tzdata database, never an offset)"
        )
    path = importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
    with path.open("rb") as data:
        return ZoneInfo.from_file(data, key=name)


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 time with the offset it was written with; a naive or loose ISO form is a
    FreezeFormError."""
    if not _RFC3339.match(text.strip()):
        raise FreezeFormError(f"{RFC3339_FORM} in place of {text!r}")
    try:
        return datetime.fromisoformat(text.strip().replace("z", "Z").replace("t", "T"))
    except ValueError:
        raise FreezeFormError(f"{RFC3339_FORM} in place of {text!r}") from None


def shown(moment: datetime, zone: tzinfo | None = None) -> str:
    """A time as an operator reads it: in the window's own zone (or offset), to the second."""
    local = moment.astimezone(zone) if zone is not None else moment
    return local.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Occurrence:
    """One stretch of a window, in UTC."""

    window: FreezeWindow
    start: datetime
    end: datetime

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment.astimezone(UTC) < self.end

    def describe(self) -> str:
        zone = self.window.zone
        return f"{shown(self.start, zone)} until {shown(self.end, zone)}"


@dataclass(frozen=True)
class OneOffWindow:
    """`{from, to, reason}`: one stretch of time."""

    start: datetime  # UTC
    end: datetime  # UTC
    reason: str
    key: str  # `freeze[0]`: where it is configured
    source: object  # as configured, for messages
    offset: tzinfo | None = None  # the offset `from` was written with, to show times in it

    @property
    def zone(self) -> tzinfo | None:
        return self.offset

    def describe(self) -> str:
        return f"{shown(self.start, self.offset)} - {shown(self.end, self.offset)}"

    def covering(self, moment: datetime) -> Occurrence | None:
        occurrence = Occurrence(self, self.start, self.end)
        return occurrence if occurrence.covers(moment) else None

    def next_start(self, moment: datetime) -> Occurrence | None:
        return Occurrence(self, self.start, self.end) if self.start > moment else None

    def as_record(self) -> dict[str, Any]:
        return {"from": shown(self.start), "to": shown(self.end), "reason": self.reason}


@dataclass(frozen=True)
class WeeklyWindow:
    """`{weekly: "Fri 16:00 - Mon 08:00 Europe/Berlin", reason}`: every week, in local time."""

    start_day: int  # 0 = Monday
    start_time: time
    end_day: int
    end_time: time
    zone_name: str
    reason: str
    key: str
    source: object

    @property
    def zone(self) -> ZoneInfo:
        return time_zone(self.zone_name)

    def describe(self) -> str:
        return (
            f"{WEEKDAYS[self.start_day]} {self.start_time:%H:%M} - "
            f"{WEEKDAYS[self.end_day]} {self.end_time:%H:%M} {self.zone_name}"
        )

    def _at(self, day: date, clock: time) -> datetime:
        """Wall time `clock` on `day` in the zone, in UTC. A wall time the clock skips (a
        spring-forward gap) takes the offset before the change (PEP 495, fold=0)."""
        return datetime.combine(day, clock, tzinfo=self.zone).astimezone(UTC)

    def _occurrence(self, start_day: date) -> Occurrence:
        days = (self.end_day - self.start_day) % 7
        if days == 0 and self.end_time <= self.start_time:
            days = 7
        end_day = start_day + timedelta(days=days)
        return Occurrence(
            self, self._at(start_day, self.start_time), self._at(end_day, self.end_time)
        )

    def _start_days(self, moment: datetime, direction: int) -> list[date]:
        """The local dates of this window's start day within a week either side of
        `moment`, nearest first."""
        today = moment.astimezone(self.zone).date()
        found = []
        for step in range(-1, 9):
            day = today + timedelta(days=direction * step)
            if day.weekday() == self.start_day:
                found.append(day)
        return found

    def covering(self, moment: datetime) -> Occurrence | None:
        """The occurrence in effect at `moment`: the latest one that started at or before it
        (occurrences of one window never overlap, being shorter than a week)."""
        instant = moment.astimezone(UTC)
        for day in self._start_days(instant, -1):
            occurrence = self._occurrence(day)
            if occurrence.start <= instant:
                return occurrence if instant < occurrence.end else None
        return None

    def next_start(self, moment: datetime) -> Occurrence | None:
        instant = moment.astimezone(UTC)
        for day in self._start_days(instant, +1):
            occurrence = self._occurrence(day)
            if occurrence.start > instant:
                return occurrence
        return None  # pragma: no cover - a start day recurs within any 8 days

    def as_record(self) -> dict[str, Any]:
        return {"weekly": self.describe(), "reason": self.reason}


FreezeWindow = OneOffWindow | WeeklyWindow


def parse_weekly(text: str, reason: str, key: str, source: object) -> WeeklyWindow:
    match = _WEEKLY.match(text.strip())
    if match is None:
        raise FreezeFormError(WEEKLY_FORM)
    first, h1, m1, last, h2, m2, zone = match.groups()
    try:
        start, end = time(int(h1), int(m1)), time(int(h2), int(m2))
    except ValueError:
        raise FreezeFormError(f"{WEEKLY_FORM}, hours 00-23 and minutes 00-59") from None
    time_zone(zone)  # FreezeFormError when the tzdata package has no such zone
    days = {name.lower(): number for number, name in enumerate(WEEKDAYS)}
    window = WeeklyWindow(
        start_day=days[first.lower()],
        start_time=start,
        end_day=days[last.lower()],
        end_time=end,
        zone_name=zone,
        reason=reason,
        key=key,
        source=source,
    )
    if window.start_day == window.end_day and window.start_time == window.end_time:
        raise FreezeFormError("a weekly window whose end is not its start (shorter than a week)")
    return window


@dataclass(frozen=True)
class FreezeCalendar:
    """Every configured window; empty when `freeze` is unset."""

    windows: tuple[FreezeWindow, ...] = ()

    def active(self, moment: datetime) -> tuple[Occurrence, ...]:
        found = (w.covering(moment) for w in self.windows)
        return tuple(o for o in found if o is not None)

    def next_start(self, moment: datetime) -> Occurrence | None:
        upcoming = [o for o in (w.next_start(moment) for w in self.windows) if o is not None]
        return min(upcoming, key=lambda o: o.start, default=None)

    def lifted_at(self, moment: datetime) -> datetime | None:
        """When no window is in effect any more, following windows that chain end to end;
        `moment` itself when none is in effect now, None beyond `_MAX_CHAIN` windows."""
        instant = moment.astimezone(UTC)
        for _ in range(_MAX_CHAIN):
            active = self.active(instant)
            if not active:
                return instant
            instant = max(o.end for o in active)
        return None

    def as_records(self) -> list[dict[str, Any]]:
        return [w.as_record() for w in self.windows]
