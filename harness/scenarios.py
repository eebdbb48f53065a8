"""Release scenarios: a stack file plus the secrets an operator sets plus a release step.

No clock is built in. Tests pass their frozen `NOW` (tests/conftest.py); benchmarks and tools
a user runs pass `datetime.now(UTC)` and an approval made relative to it
(`approval_expiring`), so nothing here stops working on a given date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from harness.mockrun import MockRun, run_program

# Secrets are never committed: operators set them with `pulumi config set --secret`; the
# scenarios set test values the same way a stack would carry them.
TEST_REDIS_PASSWORD = "test-redis-password-4f1c"
TEST_ALERTING = {
    "slackWebhookUrl": "https://hooks.slack.example/services/T000/B000/test",
    "slackChannel": "#involution-releases",
    "pagerdutyRoutingKey": "test-pagerduty-routing-key-0123456789",
    "emailTo": "releases@involution.example",
    "emailFrom": "alertmanager@involution.example",
    "emailSmarthost": "smtp.involution.example:587",
}
STACK_SECRETS: dict[str, dict[str, Any]] = {
    "dev": {"redisPassword": TEST_REDIS_PASSWORD},
    "staging": {"redisPassword": TEST_REDIS_PASSWORD},
    "production": {"redisPassword": TEST_REDIS_PASSWORD, "alerting": TEST_ALERTING},
}
APPROVERS = ("ana.release", "raj.sre")  # two: enough for a major release too
TICKET = "CHG-2041"


def approval_expiring(
    now: datetime,
    valid_for: timedelta = timedelta(hours=1),
    *,
    approved_by: Sequence[str] = APPROVERS,
    ticket: str = TICKET,
) -> dict[str, Any]:
    """A recorded approval that is still valid at `now` and expires `valid_for` later."""
    if now.utcoffset() is None:
        raise ValueError(f"approval_expiring needs an aware datetime, got {now!r}")
    expires = (now + valid_for).astimezone(UTC)
    return {
        "approvedBy": list(approved_by),
        "ticket": ticket,
        "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def canary_overrides(
    phase: str, canary: str = "v1.3.0", *, approval: Mapping[str, Any]
) -> dict[str, Any]:
    """A canary at `phase` with the approval production asks for a minor or major one."""
    return {"canaryVersion": canary, "canaryPhase": phase, "approval": dict(approval)}


def run_scenario(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    now: datetime,
    preview: bool = False,
) -> MockRun:
    """The stack file plus its secrets plus `overrides` (None removes a key), run at `now`."""
    return run_program(
        stack, {**STACK_SECRETS.get(stack, {}), **(overrides or {})}, now=now, preview=preview
    )
