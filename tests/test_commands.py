"""The next commands exported by every stack: the operator copies them, so they must be exact."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.mockrun import MockRun
from tests.conftest import canary_overrides

pytestmark = pytest.mark.unit

Runner = Callable[..., MockRun]
P = "pulumi config set --stack production involution:"
UP = "pulumi up --stack production"


@pytest.mark.parametrize(
    ("phase", "advance", "staged"),
    [
        # Shadow's advance is 10; its staged rollback is the rollback.
        ("shadow", f"{P}canaryPhase 10 && {UP}", f"{P}canaryPhase rollback && {UP}"),
        ("10", f"{P}canaryPhase 50 && {UP}", f"{P}canaryPhase rollback && {UP}"),
        ("50", f"{P}canaryPhase 100 && {UP}", f"{P}canaryPhase 10 && {UP}"),
        (
            "100",
            f"{P}stableVersion v1.3.0 && pulumi config rm --stack production "
            f"involution:canaryVersion && {P}canaryPhase none && {UP}",
            f"{P}canaryPhase 50 && {UP}",
        ),
    ],
)
def test_traffic_phases(mocked: Runner, phase: str, advance: str, staged: str) -> None:
    commands = mocked("production", canary_overrides(phase)).outputs["nextCommands"]
    assert commands["advance"] == advance
    assert commands["stagedRollback"] == staged
    assert commands["rollback"] == f"{P}canaryPhase rollback && {UP}"
    assert commands["advanceAllowed"].startswith("now") or phase != "shadow"


def test_after_rollback_the_release_is_closed(mocked: Runner) -> None:
    commands = mocked("production", canary_overrides("rollback")).outputs["nextCommands"]
    assert commands["advance"] == (
        f"pulumi config rm --stack production involution:canaryVersion && "
        f"{P}canaryPhase none && {UP}"
    )
    assert commands["rollback"].startswith("already rolled back")


def test_idle_stack_starts_a_canary(mocked: Runner) -> None:
    commands = mocked("staging").outputs["nextCommands"]
    assert commands["advance"] == (
        "pulumi config set --stack staging involution:canaryVersion '<vX.Y.Z>' && "
        "pulumi config set --stack staging involution:canaryPhase 10 && pulumi up --stack staging"
    )
    assert commands["rollback"].startswith("nothing to roll back")
    prepared = mocked("staging", {"canaryVersion": "v1.2.3"}).outputs["nextCommands"]
    assert prepared["advance"] == (
        "pulumi config set --stack staging involution:canaryPhase 10 && pulumi up --stack staging"
    )
