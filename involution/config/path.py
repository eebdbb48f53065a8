"""Config of the release path: soaks per phase, a recorded override, the upstream stack.

The release process (docs/release-process.md) keeps a canary 24 hours at 10%, 24 hours at 50%
and the old version 72 hours after 100%; these keys say how long each phase must be live here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from involution.config.reader import ConfigReader
from involution.config.release import TICKET_PATTERN
from involution.contract import Environment
from involution.phases import Phase

SOAKED_PHASES: tuple[Phase, ...] = (Phase.P10, Phase.P50, Phase.P100)
_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")
DURATION_FORM = "a duration such as 24h, 90m, 1h30m, 30s or 0s"
HOUR = timedelta(hours=1)

# The release process's soaks are production's floor; staging's validation takes ~10 minutes.
DEFAULT_SOAK: Mapping[Environment, Mapping[Phase, timedelta]] = {
    Environment.DEV: {phase: timedelta(0) for phase in SOAKED_PHASES},
    Environment.STAGING: {phase: timedelta(minutes=10) for phase in SOAKED_PHASES},
    Environment.PRODUCTION: {Phase.P10: 24 * HOUR, Phase.P50: 24 * HOUR, Phase.P100: 72 * HOUR},
}
OVERRIDE_FIELDS = ("reason", "approvedBy", "ticket", "expiresAt")
_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def parse_duration(text: str) -> timedelta:
    """`24h`, `90m`, `1h30m`, `30s`, `0s` -> timedelta; anything else is a ValueError."""
    match = _DURATION.match(text.strip())
    if match is None or not any(match.groupdict().values()):
        raise ValueError(text)
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    return timedelta(
        days=parts.get("d", 0),
        hours=parts.get("h", 0),
        minutes=parts.get("m", 0),
        seconds=parts.get("s", 0),
    )


def format_duration(value: timedelta) -> str:
    """The inverse of parse_duration, to the second: `1d2h3m4s`, `0s`."""
    seconds = max(0, int(value.total_seconds()))
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = "".join(
        f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")) if n
    )
    return text or "0s"


@dataclass(frozen=True)
class Soak:
    """How long each canary phase must be live before the next step forward."""

    durations: tuple[tuple[Phase, timedelta], ...]

    def of(self, phase: Phase) -> timedelta:
        return dict(self.durations).get(phase, timedelta(0))

    def as_record(self) -> dict[str, str]:
        return {phase.value: format_duration(value) for phase, value in self.durations}


@dataclass(frozen=True)
class ReleaseOverride:
    """Lets one step forward skip its soak (never the order); recorded wherever it is used."""

    reason: str
    approved_by: tuple[str, ...]
    ticket: str | None
    expires_at: datetime | None

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def as_record(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "approvedBy": list(self.approved_by),
            "ticket": self.ticket,
            "expiresAt": self.expires_at.isoformat() if self.expires_at else None,
        }

    @property
    def identity(self) -> str:
        """Names this override in the release log, so it skips one soak only."""
        text = json.dumps(self.as_record(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def read_soak(reader: ConfigReader, environment: Environment) -> Soak:
    defaults = DEFAULT_SOAK[environment]
    fields = reader.fields("soak", {p.value: "" for p in SOAKED_PHASES})
    durations: list[tuple[Phase, timedelta]] = []
    for phase in SOAKED_PHASES:
        default = defaults[phase]
        text = fields.text(phase.value)
        value = default
        if text is not None:
            try:
                value = parse_duration(text)
            except ValueError:
                fields.problem(phase.value, text, DURATION_FORM)
        if environment is Environment.PRODUCTION and value < default:
            fields.problem(
                phase.value,
                text,
                f"at least {format_duration(default)} in production, as the release process "
                "says (a releaseOverride skips one soak, recorded)",
            )
            value = default
        durations.append((phase, value))
    return Soak(tuple(durations))


def read_release_override(
    reader: ConfigReader,
    *,
    production: bool,
    key: str = "releaseOverride",
    purpose: str = "why this step may skip its soak",
) -> ReleaseOverride | None:
    """A recorded exception to the release path: `releaseOverride` (one soak skipped) or
    `releaseAdoption` (the release the cluster runs taken over), read by the same rules."""
    fields = reader.fields(key, {name: "" for name in OVERRIDE_FIELDS})
    if not fields.present:
        return None
    reason = fields.text("reason")
    if reason is None:
        fields.problem("reason", None, f"required: {purpose}")
    approvers = _approvers(fields.record.get("approvedBy"))
    if not approvers:
        fields.problem("approvedBy", fields.record.get("approvedBy"), "a name or a list of names")
    ticket = fields.text("ticket")
    if ticket is not None and not TICKET_PATTERN.match(ticket):
        fields.problem("ticket", ticket, "a change ticket id such as CHG-2041")
    elif ticket is None and production:
        fields.problem("ticket", None, "required in production: a change ticket id")
    expires_at = _time(fields.text("expiresAt"))
    if fields.text("expiresAt") is not None and expires_at is None:
        fields.problem("expiresAt", fields.text("expiresAt"), "an ISO-8601 time with a zone")
    elif expires_at is None and production:
        fields.problem("expiresAt", None, "required in production: when it lapses")
    if reason is None or not approvers:
        return None
    return ReleaseOverride(
        reason=reason, approved_by=approvers, ticket=ticket, expires_at=expires_at
    )


def read_promote_from(reader: ConfigReader, stack: str) -> str | None:
    name = reader.text("promoteFrom")
    if name is None:
        return None
    if not _STACK_NAME.match(name) or name == stack:
        reader.problem(
            "promoteFrom",
            name,
            f"the name of another stack of this project (not {stack} itself), e.g. staging",
        )
        return None
    return name


def _approvers(value: object) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        return ()
    return tuple(dict.fromkeys(n.strip() for n in names))


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None
