"""The release's human and CI records: approvals that expire and the six quality gates.

Both guard traffic moving to a canary; a step back is never blocked by them
(`involution.release.checks` decides when they apply).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from involution.config.reader import ConfigReader
from involution.errors import ConfigProblem
from involution.versions import ReleaseType

GATE_NAMES: tuple[str, ...] = (
    "codeQuality",
    "unitTests",
    "integrationTests",
    "accuracy",
    "security",
    "apiContract",
)
GATE_VALUES = ("passed", "failed")
APPROVAL_FIELDS = ("approvedBy", "ticket", "expiresAt")
# A major release needs "multiple stakeholder approval" (release process, Major Releases).
MAJOR_RELEASE_APPROVERS = 2

# The form the policy pack's `ticketPattern` checks too: PROJECT-NUMBER.
TICKET_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*-[0-9]+$")


@dataclass(frozen=True)
class Approval:
    """A human approval that expires, as Argo/Flagger users keep asking for."""

    approved_by: tuple[str, ...]
    ticket: str
    expires_at: datetime

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def as_record(self) -> dict[str, Any]:
        return {
            "approvedBy": list(self.approved_by),
            "ticket": self.ticket,
            "expiresAt": self.expires_at.isoformat(),
        }


@dataclass(frozen=True)
class GateResults:
    """Results of the six quality gates; a gate CI has not reported is `None`."""

    results: tuple[tuple[str, str | None], ...]

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> GateResults:
        return cls(tuple((name, values.get(name)) for name in GATE_NAMES))

    @property
    def recorded(self) -> bool:
        """False when CI recorded no gate at all."""
        return any(value is not None for _, value in self.results)

    def not_passed(self) -> tuple[str, ...]:
        return tuple(name for name, value in self.results if value != "passed")

    def as_record(self) -> dict[str, str]:
        return {name: value or "unreported" for name, value in self.results}


def read_approval(reader: ConfigReader) -> Approval | None:
    record = reader.json_object("approval")
    if record is None:
        return None
    bad = False
    unknown = sorted(set(record) - set(APPROVAL_FIELDS))
    if unknown:
        reader.problem("approval", dict(record), f"only the fields {', '.join(APPROVAL_FIELDS)}")
        bad = True
    approvers_raw = record.get("approvedBy")
    if isinstance(approvers_raw, str):
        approvers_raw = [approvers_raw]
    approvers: tuple[str, ...] = ()
    if (
        isinstance(approvers_raw, list)
        and approvers_raw
        and all(isinstance(a, str) and a.strip() for a in approvers_raw)
    ):
        approvers = tuple(dict.fromkeys(a.strip() for a in approvers_raw))
    else:
        reader.problem("approval.approvedBy", approvers_raw, "a name or a list of names")
        bad = True
    ticket = record.get("ticket")
    if not isinstance(ticket, str) or not TICKET_PATTERN.match(ticket.strip()):
        reader.problem("approval.ticket", ticket, "a change ticket id such as CHG-2041")
        bad = True
    expires_raw = record.get("expiresAt")
    expires_at: datetime | None = None
    if isinstance(expires_raw, str):
        try:
            expires_at = datetime.fromisoformat(expires_raw)
        except ValueError:
            expires_at = None
    if expires_at is None or expires_at.tzinfo is None:
        reader.problem(
            "approval.expiresAt",
            expires_raw,
            "an ISO-8601 time with a zone, e.g. 2026-12-01T18:00:00Z",
        )
        bad = True
    if bad or expires_at is None or not isinstance(ticket, str):
        return None
    return Approval(approved_by=approvers, ticket=ticket.strip(), expires_at=expires_at)


def check_approval(
    approval: Approval | None,
    *,
    kind: ReleaseType,
    now: datetime,
    production: bool,
    problems: list[ConfigProblem],
    warnings: list[str],
) -> None:
    """Production needs an unexpired approval (two approvers for a major release) before
    traffic moves to a minor or major canary; elsewhere a lapse is a warning."""
    if approval is None:
        if production:
            problems.append(
                ConfigProblem(
                    "approval",
                    None,
                    f"required in production for a {kind.value} canary: "
                    "{approvedBy, ticket, expiresAt} "
                    "(pulumi config set --path involution:approval.*)",
                )
            )
        return
    issues: list[ConfigProblem] = []
    if approval.is_expired(now):
        issues.append(
            ConfigProblem(
                "approval.expiresAt",
                approval.expires_at.isoformat(),
                f"a time after now ({now.isoformat(timespec='seconds')}): the approval has expired",
            )
        )
    if kind is ReleaseType.MAJOR and len(approval.approved_by) < MAJOR_RELEASE_APPROVERS:
        issues.append(
            ConfigProblem(
                "approval.approvedBy",
                list(approval.approved_by),
                f"at least {MAJOR_RELEASE_APPROVERS} distinct approvers for a major release",
            )
        )
    if production:
        problems.extend(issues)
    else:
        warnings.extend(issue.describe() for issue in issues)


def check_gates(
    gates: GateResults,
    *,
    production: bool,
    problems: list[ConfigProblem],
    warnings: list[str],
) -> None:
    """Production ships only what passed all six gates; elsewhere a failure is a warning."""
    if not gates.recorded:
        if production:
            problems.append(
                ConfigProblem(
                    "gates", None, f"required in production: {', '.join(GATE_NAMES)} each `passed`"
                )
            )
        return
    failing = gates.not_passed()
    if production:
        recorded = dict(gates.results)
        problems.extend(
            ConfigProblem(
                f"gates.{name}",
                recorded[name],
                "`passed`: production ships only releases that passed all six quality gates",
            )
            for name in failing
        )
    elif failing:
        warnings.append(f"quality gates not passed: {', '.join(failing)}")


def read_gates(reader: ConfigReader) -> GateResults | None:
    record = reader.json_object("gates")
    if record is None:
        return None
    values: dict[str, str] = {}
    ok = True
    for name, value in record.items():
        if name not in GATE_NAMES:
            reader.problem(f"gates.{name}", value, f"one of the gates {', '.join(GATE_NAMES)}")
            ok = False
        elif value not in GATE_VALUES:
            reader.problem(f"gates.{name}", value, "passed or failed")
            ok = False
        else:
            values[name] = value
    return GateResults.from_mapping(values) if ok else None
