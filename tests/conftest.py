"""Shared fixtures: mocked runs of the real program, cached per scenario."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from involution.mockrun import MockRun, run_program
from tests.engine import EngineProject, make_project

# A fixed clock: approvals in tests expire relative to it, not to the day the suite runs.
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
STACKS = ("dev", "staging", "production")
TRAFFIC_PHASES = ("10", "50", "100", "rollback")

VALID_APPROVAL = {
    "approvedBy": ["ana.release", "raj.sre"],
    "ticket": "CHG-2041",
    "expiresAt": "2026-11-30T18:00:00Z",
}


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


def run_scenario(
    stack: str, overrides: Mapping[str, Any] | None = None, *, now: datetime = NOW
) -> MockRun:
    """The stack file plus its secrets plus `overrides` (None removes a key)."""
    return run_program(stack, {**STACK_SECRETS.get(stack, {}), **(overrides or {})}, now=now)


def canary_overrides(phase: str, canary: str = "v1.3.0") -> dict[str, Any]:
    """A minor canary at `phase`, approved so production accepts it."""
    return {"canaryVersion": canary, "canaryPhase": phase, "approval": VALID_APPROVAL}


@pytest.fixture
def engine_project(tmp_path: Path) -> EngineProject:
    """A copy of the project with its own state and passphrase, run by the real engine."""
    return make_project(tmp_path)


@pytest.fixture(scope="session")
def mocked() -> Callable[..., MockRun]:
    """Run the program once per (stack, overrides) and reuse the result across tests."""
    cache: dict[str, MockRun] = {}

    def run(stack: str, overrides: Mapping[str, Any] | None = None) -> MockRun:
        key = repr((stack, sorted((overrides or {}).items(), key=lambda kv: kv[0])))
        if key not in cache:
            cache[key] = run_scenario(stack, overrides)
        return cache[key]

    return run
