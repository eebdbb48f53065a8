"""Freeze windows on a frozen clock: weekly windows in wall-clock time across both daylight-saving
changes of Europe/Berlin, a year end (one-off and weekly, in a year of 53 ISO weeks), windows
that chain, and the time zone database of the pinned tzdata package, not the host's."""

from __future__ import annotations

import importlib.resources
import json
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from involution.config.freeze import read_freeze
from involution.config.reader import ConfigReader
from involution.release.freeze import FreezeCalendar, time_zone
from involution.release.holds import freeze_notices

pytestmark = pytest.mark.unit

WEEKEND = "Fri 16:00 - Mon 08:00 Europe/Berlin"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def calendar(*entries: object) -> FreezeCalendar:
    reader = ConfigReader({"freeze": json.dumps(list(entries))}, frozenset())
    found = read_freeze(reader)
    assert reader.problems == []
    return found


def weekend() -> FreezeCalendar:
    return calendar({"weekly": WEEKEND, "reason": "no weekend releases"})


def frozen(cal: FreezeCalendar, moment: str) -> bool:
    return bool(cal.active(utc(moment)))


# Spring forward: Sunday 2027-03-28 02:00 CET -> 03:00 CEST. The window opens Friday 16:00 CET
# (15:00Z) and closes Monday 08:00 CEST (06:00Z): 63 hours, not 64. A fixed +01:00 would close
# it at 07:00Z, a fixed +02:00 open it at 14:00Z.
SPRING = [
    ("2027-03-26T14:59:59Z", False),
    ("2027-03-26T15:00:00Z", True),
    ("2027-03-28T01:30:00Z", True),  # in the skipped hour's neighbourhood
    ("2027-03-29T05:59:59Z", True),
    ("2027-03-29T06:00:00Z", False),
    ("2027-03-29T06:30:00Z", False),
]
# Fall back: Sunday 2027-10-31 03:00 CEST -> 02:00 CET. Opens Friday 16:00 CEST (14:00Z),
# closes Monday 08:00 CET (07:00Z): 65 hours.
AUTUMN = [
    ("2027-10-29T13:59:59Z", False),
    ("2027-10-29T14:00:00Z", True),
    ("2027-10-31T00:30:00Z", True),  # 02:30 CEST, the first of the two 02:30s
    ("2027-10-31T01:30:00Z", True),  # 02:30 CET, the second
    ("2027-11-01T06:30:00Z", True),
    ("2027-11-01T06:59:59Z", True),
    ("2027-11-01T07:00:00Z", False),
]


@pytest.mark.parametrize(("moment", "inside"), SPRING + AUTUMN)
def test_weekly_window_follows_the_wall_clock_across_dst(moment: str, inside: bool) -> None:
    assert frozen(weekend(), moment) is inside


@pytest.mark.parametrize(
    ("moment", "start", "end", "hours"),
    [
        ("2027-03-27T12:00:00Z", "2027-03-26T15:00:00Z", "2027-03-29T06:00:00Z", 63),
        ("2027-10-30T12:00:00Z", "2027-10-29T14:00:00Z", "2027-11-01T07:00:00Z", 65),
        ("2027-01-09T12:00:00Z", "2027-01-08T15:00:00Z", "2027-01-11T07:00:00Z", 64),
    ],
)
def test_an_occurrence_is_an_hour_shorter_or_longer_across_a_change(
    moment: str, start: str, end: str, hours: int
) -> None:
    (occurrence,) = weekend().active(utc(moment))
    assert (occurrence.start, occurrence.end) == (utc(start), utc(end))
    assert (occurrence.end - occurrence.start).total_seconds() == hours * 3600
    assert occurrence.describe().endswith(("+01:00", "+02:00"))  # shown in Berlin's time


def test_next_start_and_end_are_said_in_the_zone() -> None:
    cal = weekend()
    upcoming = cal.next_start(utc("2027-03-24T09:00:00Z"))
    assert upcoming is not None
    assert upcoming.describe() == "2027-03-26T16:00:00+01:00 until 2027-03-29T08:00:00+02:00"
    (notice,) = freeze_notices(cal, utc("2027-03-24T09:00:00Z"))
    assert notice == (
        f"next release freeze: {WEEKEND} (no weekend releases) from 2027-03-26T16:00:00+01:00 "
        "until 2027-03-29T08:00:00+02:00 (starts in 2d6h)"
    )
    (inside,) = freeze_notices(cal, utc("2027-03-29T05:00:00Z"))
    assert "steps forward are refused until 2027-03-29T06:00:00Z (in 1h)" in inside


def test_a_wall_time_the_clock_skips_takes_the_offset_before_the_change() -> None:
    cal = calendar({"weekly": "Sun 02:30 - Sun 04:00 Europe/Berlin", "reason": "maintenance"})
    (occurrence,) = cal.active(utc("2027-03-28T01:45:00Z"))
    assert occurrence.start == utc("2027-03-28T01:30:00Z")  # 02:30 read as CET
    assert occurrence.end == utc("2027-03-28T02:00:00Z")  # 04:00 CEST


YEAR_END = {
    "from": "2026-12-23T00:00:00+01:00",
    "to": "2027-01-04T08:00:00+01:00",
    "reason": "year-end freeze",
}


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        ("2026-12-22T22:59:59Z", False),
        ("2026-12-22T23:00:00Z", True),
        ("2026-12-31T23:59:59Z", True),
        ("2027-01-01T00:00:00Z", True),
        ("2027-01-04T06:59:59Z", True),
        ("2027-01-04T07:00:00Z", False),
    ],
)
def test_one_off_window_over_the_year_end(moment: str, inside: bool) -> None:
    assert frozen(calendar(YEAR_END), moment) is inside


def test_weekly_window_over_new_year_in_a_year_of_53_iso_weeks() -> None:
    """2026-12-31 is the Thursday of ISO week 53; the window runs into 2027's week 1."""
    cal = calendar({"weekly": "Thu 18:00 - Mon 08:00 Europe/Berlin", "reason": "long weekend"})
    assert datetime(2026, 12, 31).isocalendar().week == 53
    (occurrence,) = cal.active(utc("2027-01-02T12:00:00+01:00"))
    assert occurrence.start == utc("2026-12-31T18:00:00+01:00")
    assert occurrence.end == utc("2027-01-04T08:00:00+01:00")
    assert not frozen(cal, "2026-12-31T16:59:59Z")
    upcoming = cal.next_start(utc("2027-01-04T07:00:00Z"))
    assert upcoming is not None and upcoming.start == utc("2027-01-07T18:00:00+01:00")


def test_chained_windows_lift_when_the_last_one_ends() -> None:
    """A one-off that ends inside the weekend window: the freeze lifts on Monday."""
    cal = calendar(
        {**YEAR_END, "to": "2027-01-08T18:00:00+01:00"},
        {"weekly": WEEKEND, "reason": "no weekend releases"},
    )
    assert cal.lifted_at(utc("2026-12-30T10:00:00Z")) == utc("2027-01-11T08:00:00+01:00")
    assert cal.lifted_at(utc("2027-01-12T10:00:00Z")) == utc("2027-01-12T10:00:00Z")


def test_an_entry_can_be_a_bare_recurrence() -> None:
    reader = ConfigReader({"freeze": WEEKEND}, frozenset())
    cal = read_freeze(reader)
    assert reader.problems == []
    (window,) = cal.windows
    assert (window.key, window.reason) == ("freeze", "weekly release freeze")
    assert cal.as_records() == [{"weekly": WEEKEND, "reason": "weekly release freeze"}]


@pytest.fixture
def lying_host(tmp_path: Path) -> Iterator[None]:
    """A host whose zone files say Europe/Berlin is UTC all year."""
    utc_file = importlib.resources.files("tzdata.zoneinfo").joinpath("UTC").read_bytes()
    (tmp_path / "Europe").mkdir()
    (tmp_path / "Europe" / "Berlin").write_bytes(utc_file)
    zoneinfo.reset_tzpath(to=[str(tmp_path)])
    zoneinfo.ZoneInfo.clear_cache()
    time_zone.cache_clear()
    try:
        yield
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()
        time_zone.cache_clear()


def test_zones_come_from_the_pinned_tzdata_package_not_the_host(lying_host: None) -> None:
    summer = datetime(2027, 7, 1, 12, 0)
    assert zoneinfo.ZoneInfo("Europe/Berlin").utcoffset(summer) == timedelta(0)  # the host
    assert time_zone("Europe/Berlin").utcoffset(summer) == timedelta(hours=2)
    assert frozen(weekend(), "2027-03-29T05:59:59Z")
    assert not frozen(weekend(), "2027-03-29T06:00:00Z")


@pytest.mark.parametrize(
    ("value", "key", "allowed"),
    [
        ("Fri 16:00 - Mon 08:00 +01:00", "freeze", "an IANA time zone name"),
        ("Fri 16:00 - Mon 08:00 Europe/Berlln", "freeze", "in place of 'Europe/Berlln'"),
        ("Fri 16:00 - Fri 16:00 UTC", "freeze", "end is not its start"),
        ("Fri 24:00 - Mon 08:00 UTC", "freeze", "hours 00-23"),
        ("weekends", "freeze", "a weekly recurrence `<Day> HH:MM - <Day> HH:MM"),
        ("[]", "freeze", "a list of windows"),
        (
            json.dumps(
                [{"from": "2026-12-24T00:00:00Z", "to": "2026-12-23T00:00:00Z", "reason": "r"}]
            ),
            "freeze[0]",
            "`from` before `to`",
        ),
        (
            json.dumps([{"weekly": WEEKEND, "reason": "r"}, {"from": "2026-12-23", "reason": "r"}]),
            "freeze[1]",
            "`from` as an RFC 3339 time with its offset",
        ),
        (
            json.dumps([{"weekly": WEEKEND, "reason": "r", "zone": "UTC"}]),
            "freeze[0]",
            "only the fields reason, weekly (not zone)",
        ),
    ],
)
def test_bad_windows_are_one_problem_each(value: str, key: str, allowed: str) -> None:
    reader = ConfigReader({"freeze": value}, frozenset())
    read_freeze(reader)
    (problem,) = reader.problems
    assert problem.key == key
    assert allowed in problem.allowed, problem.describe()
    assert problem.describe().startswith(f"involution:{key} = ")
