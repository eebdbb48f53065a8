"""What a stack has deployed, as its own outputs record it: phase, versions, release log.

Written by `program.deploy` as stack outputs (`phase`, `stableVersion`, `canaryVersion`,
`phaseSince`, `releaseLog`) and read back by the next update through a StackReference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from involution.phases import Phase
from involution.versions import EngineVersion, VersionError

RELEASE_LOG_LENGTH = 20


@dataclass(frozen=True)
class LogEntry:
    """One transition in the stack's `releaseLog` output."""

    at: datetime
    step: str
    from_phase: str
    phase: str
    stable_version: str | None
    canary_version: str | None
    override: str | None = None
    reason: str | None = None

    def as_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "at": rfc3339(self.at),
            "step": self.step,
            "from": self.from_phase,
            "phase": self.phase,
            "stableVersion": self.stable_version,
            "canaryVersion": self.canary_version,
        }
        if self.override is not None:
            record["override"] = self.override
        if self.reason is not None:
            record["reason"] = self.reason
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> LogEntry | None:
        try:
            return cls(
                at=parse_time(record["at"]),
                step=str(record["step"]),
                from_phase=str(record["from"]),
                phase=str(record["phase"]),
                stable_version=record.get("stableVersion"),
                canary_version=record.get("canaryVersion"),
                override=record.get("override"),
                reason=record.get("reason"),
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class DeployedRelease:
    """What the stack runs now, from its last outputs."""

    phase: Phase
    stable: EngineVersion | None
    canary: EngineVersion | None
    phase_since: datetime | None
    log: tuple[LogEntry, ...] = ()

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any] | None) -> DeployedRelease | None:
        """None for a stack never deployed (no outputs): it starts from `none`."""
        if not outputs or "phase" not in outputs:
            return None
        try:
            phase = Phase(str(outputs["phase"]))
        except ValueError:
            phase = Phase.NONE
        since = outputs.get("phaseSince")
        log = [
            LogEntry.from_record(r) for r in outputs.get("releaseLog") or [] if isinstance(r, dict)
        ]
        return cls(
            phase=phase,
            stable=_version(outputs.get("stableVersion")),
            canary=_version(outputs.get("canaryVersion")),
            phase_since=parse_time(since) if isinstance(since, str) else None,
            log=tuple(entry for entry in log if entry is not None),
        )


@dataclass(frozen=True)
class UpstreamRelease:
    """The `promoteFrom` stack as last deployed; `stable` None when it never was."""

    stack: str
    stable: EngineVersion | None


def _version(value: object) -> EngineVersion | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return EngineVersion.parse(value)
    except VersionError:
        return None


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def log_records(log: Sequence[LogEntry]) -> list[dict[str, Any]]:
    return [entry.as_record() for entry in log]
