"""Shared fixtures: mocked runs of the real program, cached per scenario.

The scenarios live in harness/scenarios.py (benchmarks share them); the tests bind them to a
frozen clock, so approvals expire relative to it, not to the day the suite runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cli.interrupts import let_children_hear_sigint
from harness import scenarios
from harness.engine import go_runtime, pulumi_home
from harness.engine.project import EngineProject, make_project
from harness.engine.templates import Templates
from harness.mockrun import MockRun
from harness.scenarios import STACK_SECRETS, TEST_ALERTING, TEST_REDIS_PASSWORD
from tests import dev_walk, engine_stacks
from tests.dev_walk import Walk
from tests.engine_stacks import Deployed
from tests.tooling import or_missing

# Bytecode caches on, for this process and every one it starts: the programs, packs and
# commands the suite runs import the same unchanged modules hundreds of times, and where
# PYTHONDONTWRITEBYTECODE is set each of them compiled ours from source again (0.09 s of CPU a
# process). Engine project copies carry their `__pycache__` (gitignored) with them.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False
# The engine's short-lived Go processes collect no garbage below 1 GiB
# (harness/engine/go_runtime.py).
go_runtime.for_short_lived(os.environ)
# The engine's logs of this run in a home of its own, not read again by every later command
# (harness/engine/pulumi_home.py); the plugin cache stays the user's.
pulumi_home.use_private_home(os.environ)
# The suite's stacks are files in temporary folders that nobody resumes after a crash: their
# `pulumi up`s write the state once when they end instead of after every resource (Pulumi's
# PULUMI_SKIP_CHECKPOINTS; 0.2 s of a dev `up`'s 2.2 s of CPU). The README walk and the fresh
# clones drop the caller's PULUMI_ variables (harness/engine/fresh_clone.py): they checkpoint
# as an operator's engine does, and so does `make bench`.
os.environ.setdefault("PULUMI_SKIP_CHECKPOINTS", "true")
# Started as a background job (SIGINT ignored), every `pulumi` the suite runs waited 5 s for its
# language host to close (cli/interrupts.py); its children hear SIGINT again.
let_children_hear_sigint()

# The layers (harness/layers.py) as markers, one per test module, with their ceilings and order.
pytest_plugins = ("tests.layering", "tests.cpu_record")

__all__ = [
    "NOW",
    "STACKS",
    "STACK_SECRETS",
    "TEST_ALERTING",
    "TEST_REDIS_PASSWORD",
    "TRAFFIC_PHASES",
    "VALID_APPROVAL",
    "canary_overrides",
    "run_scenario",
]

# A fixed clock: approvals in tests expire relative to it, not to the day the suite runs.
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
STACKS = ("dev", "staging", "production")
TRAFFIC_PHASES = ("10", "50", "100", "rollback")

# Valid at NOW only: a test that judges it needs NOW's clock, which run_scenario passes.
VALID_APPROVAL = {
    "approvedBy": ["ana.release", "raj.sre"],
    "ticket": "CHG-2041",
    "expiresAt": "2026-11-30T18:00:00Z",
}


def run_scenario(
    stack: str, overrides: Mapping[str, Any] | None = None, *, now: datetime = NOW
) -> MockRun:
    """The stack file plus its secrets plus `overrides` (None removes a key), at NOW."""
    return scenarios.run_scenario(stack, overrides, now=now)


def canary_overrides(phase: str, canary: str = "v1.3.0") -> dict[str, Any]:
    """A minor canary at `phase`, approved (VALID_APPROVAL) so production accepts it at NOW."""
    return scenarios.canary_overrides(phase, canary, approval=VALID_APPROVAL)


@pytest.fixture
def engine_project(tmp_path: Path) -> EngineProject:
    """A copy of the project with its own state and passphrase, run by the real engine."""
    return or_missing(lambda: make_project(tmp_path))


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


@pytest.fixture(scope="session")
def engine_templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    """Built once for the whole run: under xdist in the folder the workers share."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return Templates(shared / "engine-templates")


@pytest.fixture
def deployed_dev(engine_templates: Templates, tmp_path: Path) -> Deployed:
    """The dev stack after its first `pulumi up`, copied from the session's template."""
    project, record = or_missing(
        lambda: engine_templates.copy("dev", engine_stacks.deploy_dev, tmp_path)
    )
    return Deployed(project, record["up"])


@pytest.fixture
def dev_at_10(engine_templates: Templates, tmp_path: Path) -> EngineProject:
    """The dev stack deployed, then a canary of v1.3.0 at 10%."""
    project, _ = or_missing(
        lambda: engine_templates.copy("dev-at-10", engine_stacks.dev_at_10, tmp_path)
    )
    return project


@pytest.fixture(scope="session")
def dev_walk_template(engine_templates: Templates) -> tuple[EngineProject, Walk]:
    """The recorded release walk of dev (tests/dev_walk.py), walked once per run. The project
    is the template's: copy it (harness.engine.project.copy_project) before running anything
    on it."""
    project, record = or_missing(lambda: engine_templates.built("dev-walk", dev_walk.walk_dev))
    return project, Walk.from_record(record)


@pytest.fixture
def walked_dev(dev_walk_template: tuple[EngineProject, Walk]) -> Walk:
    return dev_walk_template[1]
