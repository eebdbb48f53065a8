"""Approvals and gates: who approved a release and which quality gates it passed.

They read what the program records on the engine Deployments (`involution.dev/*`
annotations), so they judge what the cluster would get, not the stack config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs

from involution_policies.config import Schema, config_of, resource_policy, string_list
from involution_policies.kube import kind_of, release_info
from involution_policies.names import (
    ANNOTATION_PREFIX,
    BACK_STEPS,
    GATE_NAMES,
    MAJOR_RELEASE_APPROVERS,
    TICKET_PATTERN,
    TRAFFIC_PHASES,
)
from involution_policies.props import json_value, parse_time

APPROVAL_SCHEMA: Final[Schema] = {
    "releaseTypes": string_list("release types that need an approval", ["minor", "major"]),
    "trafficPhases": string_list("phases in which the canary serves traffic", TRAFFIC_PHASES),
    "majorReleaseApprovers": {
        "type": "integer",
        "minimum": 1,
        "default": MAJOR_RELEASE_APPROVERS,
        "description": "distinct approvers a major release needs (multiple stakeholders)",
    },
    "ticketPattern": {
        "type": "string",
        "default": TICKET_PATTERN,
        "description": "regular expression of a change ticket id, e.g. CHG-2041",
    },
    "evaluationTime": {
        "type": "string",
        "default": "",
        "description": "ISO-8601 time approvals are judged at; empty means now",
    },
    "exemptSteps": string_list("release steps that take traffic back (never blocked)", BACK_STEPS),
}


def approvers(record: Mapping[str, Any]) -> list[str]:
    """The distinct, non-blank approvers of an approval record, in order (one string or a
    list)."""
    raw = record.get("approvedBy")
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        return []
    return list(dict.fromkeys(a.strip() for a in raw if isinstance(a, str) and a.strip()))


def approval_problems(
    record: Mapping[str, Any], what: str, needed: int, ticket_pattern: str, now: datetime
) -> list[str]:
    """What an approval record lacks: enough approvers, a valid ticket, an unexpired expiry."""
    problems: list[str] = []
    found = approvers(record)
    if len(found) < needed:
        problems.append(
            f"the {what} has {len(found)} approver(s) ({', '.join(found) or 'none'}); "
            f"{needed} distinct approvers are required"
        )
    ticket = record.get("ticket")
    if not isinstance(ticket, str) or not re.match(ticket_pattern, ticket.strip()):
        problems.append(f"the approval of the {what} has no valid change ticket: {ticket!r}")
    expires = parse_time(record.get("expiresAt"))
    if expires is None:
        problems.append(
            f"the approval of the {what} has no expiry with a time zone: "
            f"{record.get('expiresAt')!r}"
        )
    elif expires <= now:
        problems.append(
            f"the approval of the {what} expired at {expires.isoformat()} "
            f"(now {now.isoformat(timespec='seconds')})"
        )
    return problems


def production_approval_recorded(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A minor or major canary serving production traffic carries a recorded human approval:
    approver(s), a change ticket and an expiry that has not passed.

    The release process requires manual approval for production minor releases and multiple
    stakeholders for a major one; an approval that expires cannot be reused for a later release.
    Rollbacks are never blocked: the canary at 0% needs no approval.
    """
    info = release_info(args.props)
    if kind_of(args.resource_type) != "Deployment" or info is None or info.track != "canary":
        return
    cfg = config_of(args, APPROVAL_SCHEMA)
    if info.release_type not in cfg.strings("releaseTypes"):
        return
    if info.phase not in cfg.strings("trafficPhases") or info.step in cfg.strings("exemptSteps"):
        return
    what = f"{info.release_type} canary {info.version} at phase {info.phase}"
    ok, record = json_value(info.approval)
    if info.approval is None or (ok and record is None):
        report(
            f"no approval recorded for the {what}: set involution:approval "
            "{approvedBy, ticket, expiresAt}",
            None,
        )
        return
    if not ok or not isinstance(record, dict):
        report(f"the approval annotation of the {what} is not a JSON object", None)
        return
    needed = cfg.integer("majorReleaseApprovers") if info.release_type == "major" else 1
    for problem in approval_problems(record, what, needed, cfg.string("ticketPattern"), cfg.now()):
        report(problem, None)


GATES_SCHEMA: Final[Schema] = {
    "requiredGates": string_list("quality gates that must be `passed`", GATE_NAMES),
    "exemptPhases": string_list(
        "phases that never wait for gates (a rollback abandons the release)", ["rollback"]
    ),
    "exemptSteps": string_list("release steps that take traffic back (never blocked)", BACK_STEPS),
}


def failing_gates(record: Mapping[str, Any], required: list[str]) -> list[str]:
    """`gate=value` of every required gate not recorded as `passed`."""
    return [
        f"{gate}={record.get(gate, 'unreported')}"
        for gate in required
        if record.get(gate) != "passed"
    ]


def production_quality_gates(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every engine Deployment in production records all six quality gates as `passed`.

    The release process blocks deployment unless code quality, unit tests, integration tests,
    accuracy, security and API contract all passed; a rollback is exempt because it moves
    traffic back to what already passed.
    """
    info = release_info(args.props)
    if kind_of(args.resource_type) != "Deployment" or info is None:
        return
    cfg = config_of(args, GATES_SCHEMA)
    if info.phase in cfg.strings("exemptPhases") or info.step in cfg.strings("exemptSteps"):
        return
    ok, record = json_value(info.gates)
    if not ok or not isinstance(record, dict):
        report(
            f"engine {info.track} track {info.version} has no quality-gate record "
            f"({ANNOTATION_PREFIX}gates)",
            None,
        )
        return
    failing = failing_gates(record, cfg.strings("requiredGates"))
    if failing:
        report(
            f"engine {info.track} track {info.version}: quality gates not passed: "
            + ", ".join(failing),
            None,
        )


OVERRIDE_SCHEMA: Final[Schema] = {
    "evaluationTime": {
        "type": "string",
        "default": "",
        "description": "ISO-8601 time overrides are judged at; empty means now",
    },
}


def release_override_recorded(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every release override is flagged for review: it let a step skip its soak.

    The program records an override on the engine Deployments (`involution.dev/release-
    override`) with its reason, approvers, ticket and expiry; reported once, on the stable
    track, with whatever it lacks.
    """
    info = release_info(args.props)
    if kind_of(args.resource_type) != "Deployment" or info is None or info.track != "stable":
        return
    if info.override is None:
        return
    ok, record = json_value(info.override)
    if not ok or not isinstance(record, dict):
        report("the release override annotation is not a JSON object", None)
        return
    found = approvers(record)
    ticket = record.get("ticket") or "no ticket"
    lapse = ""
    expires = parse_time(record.get("expiresAt"))
    if expires is not None and expires <= config_of(args, OVERRIDE_SCHEMA).now():
        lapse = f"; expired at {expires.isoformat()}"
    report(
        f"release override in effect on {info.version}: {record.get('reason')!r}, approved by "
        f"{', '.join(found) or 'nobody'}, {ticket}{lapse}: a step forward skipped its soak",
        None,
    )


POLICIES: Final = [
    resource_policy(
        "production-approval-recorded",
        EnforcementLevel.MANDATORY,
        production_approval_recorded,
        APPROVAL_SCHEMA,
    ),
    resource_policy(
        "production-quality-gates",
        EnforcementLevel.MANDATORY,
        production_quality_gates,
        GATES_SCHEMA,
    ),
    resource_policy(
        "release-override-recorded",
        EnforcementLevel.ADVISORY,
        release_override_recorded,
        OVERRIDE_SCHEMA,
    ),
]
