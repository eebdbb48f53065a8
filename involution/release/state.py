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
class UnreadableOutput:
    """A last output that exists but cannot be read: the release path fails closed on it."""

    name: str
    value: object
    expected: str

    def describe(self) -> str:
        return f"the stack's last output {self.name} = {self.value!r} is not {self.expected}"


@dataclass(frozen=True)
class DeployedRelease:
    """What the stack runs now, from its last outputs. `unreadable` lists the outputs that
    exist but do not parse: no step forward is judged on them (steps back still are)."""

    phase: Phase
    stable: EngineVersion | None
    canary: EngineVersion | None
    phase_since: datetime | None
    log: tuple[LogEntry, ...] = ()
    unreadable: tuple[UnreadableOutput, ...] = ()

    @property
    def phase_readable(self) -> bool:
        return all(u.name != "phase" for u in self.unreadable)

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any] | None) -> DeployedRelease | None:
        """None for a stack never deployed (no outputs): it starts from `none`. Outputs that
        exist but do not parse are kept as `unreadable`, never read as a default."""
        if not outputs:
            return None
        unreadable: list[UnreadableOutput] = []
        phase = _phase(outputs.get("phase"), unreadable)
        stable = _version("stableVersion", outputs.get("stableVersion"), unreadable)
        canary_value = outputs.get("canaryVersion")
        canary = _version("canaryVersion", canary_value, unreadable, required=False)
        if canary is None and canary_value in (None, "") and phase in _WITH_CANARY:
            unreadable.append(
                UnreadableOutput(
                    "canaryVersion", canary_value, f"a version tag at phase {phase.value}"
                )
            )
        return cls(
            phase=phase,
            stable=stable,
            canary=canary,
            phase_since=_since(outputs.get("phaseSince"), unreadable),
            log=_log(outputs.get("releaseLog"), unreadable),
            unreadable=tuple(unreadable),
        )


# Phases whose canary Deployment exists, so the outputs must name its version.
_WITH_CANARY = (Phase.SHADOW, Phase.P10, Phase.P50, Phase.P100, Phase.ROLLBACK)


def _phase(value: object, unreadable: list[UnreadableOutput]) -> Phase:
    try:
        return Phase(value)
    except ValueError:
        allowed = ", ".join(p.value for p in Phase)
        unreadable.append(UnreadableOutput("phase", value, f"a phase ({allowed})"))
        return Phase.NONE  # never judged: phase_readable is False


def _version(
    name: str, value: object, unreadable: list[UnreadableOutput], *, required: bool = True
) -> EngineVersion | None:
    if value is None or value == "":
        if required:
            unreadable.append(UnreadableOutput(name, value, "a version tag such as v1.2.2"))
        return None
    if isinstance(value, str):
        try:
            return EngineVersion.parse(value)
        except VersionError:
            pass
    unreadable.append(UnreadableOutput(name, value, "a version tag such as v1.2.2"))
    return None


def _since(value: object, unreadable: list[UnreadableOutput]) -> datetime | None:
    if value is None:
        return None  # deployed before phaseSince was recorded: the soak check says so
    try:
        if isinstance(value, str):
            moment = parse_time(value)
            if moment.tzinfo is not None:
                return moment
    except ValueError:
        pass
    unreadable.append(UnreadableOutput("phaseSince", value, "an RFC 3339 time with a zone"))
    return None


def _log(value: object, unreadable: list[UnreadableOutput]) -> tuple[LogEntry, ...]:
    if value is None:
        return ()
    records = value if isinstance(value, list) else [value]
    entries = [LogEntry.from_record(r) if isinstance(r, dict) else None for r in records]
    if not isinstance(value, list) or None in entries:
        unreadable.append(UnreadableOutput("releaseLog", value, "a list of release log records"))
    return tuple(entry for entry in entries if entry is not None)


@dataclass(frozen=True)
class UpstreamRelease:
    """The `promoteFrom` stack as last deployed; `stable` None when it never was."""

    stack: str
    stable: EngineVersion | None


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def log_records(log: Sequence[LogEntry]) -> list[dict[str, Any]]:
    return [entry.as_record() for entry in log]
