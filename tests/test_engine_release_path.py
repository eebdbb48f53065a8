"""The release path with the real engine on the file backend: soaks of seconds, every refusal
printed by `pulumi up`, the override recorded, patch and minor, downgrade, `promoteFrom`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from harness.engine import EngineProject

pytestmark = pytest.mark.engine

# Long enough for the refusals a test makes right after a step (each `pulumi` call takes a
# second or two), short enough to wait out.
LONG_SOAK = "60s"
SHORT_SOAK = "25s"
REFUSED = "the release path refuses this step"


def up(project: EngineProject, stack: str, **changes: str | None) -> dict[str, Any]:
    project.configure(stack, {k.replace("__", "."): v for k, v in changes.items()})
    project.up(stack)
    return project.outputs(stack)


def refused(project: EngineProject, stack: str, **changes: str | None) -> str:
    """`pulumi up` fails with the program's message and changes nothing."""
    before = project.outputs(stack)
    project.configure(stack, {k.replace("__", "."): v for k, v in changes.items()})
    result = project.pulumi("up", "--yes", "--skip-preview", "--stack", stack, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert REFUSED in output, output
    assert "Traceback" not in output
    assert project.outputs(stack) == before
    return output


def wait_for_soak(outputs: dict[str, Any]) -> None:
    until = datetime.fromisoformat(outputs["soakUntil"])
    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.5)


def soaked_dev(project: EngineProject, soak: str) -> None:
    project.init_stack("dev")
    for phase in ("10", "50", "100"):
        project.set("dev", f"soak.{phase}", soak, path=True)
    project.up("dev")


def test_walk_with_soaks_refusals_and_an_override(engine_project: EngineProject) -> None:
    project = engine_project
    soaked_dev(project, LONG_SOAK)
    message = refused(project, "dev", canaryVersion="v1.3.0", canaryPhase="50")
    assert "involution:canaryPhase = '50': a next phase of the deployed phase none: none, 10" in (
        message
    )
    at10 = up(project, "dev", canaryPhase="10")
    assert at10["phase"] == "10"
    assert at10["soakUntil"] > at10["phaseSince"]
    assert at10["nextCommands"]["advanceAllowed"].startswith("from ")

    inside = refused(project, "dev", canaryPhase="50")
    assert "involution:soak.10 = '1m': phase 10 live for" in inside
    assert "of its 1m soak" in inside and "left" in inside
    assert "involution:canaryPhase = '100'" in refused(project, "dev", canaryPhase="100")
    changed = refused(project, "dev", canaryPhase="10", canaryVersion="v1.4.0")
    assert "involution:canaryVersion = 'v1.4.0': v1.3.0, the canary live at phase 10" in changed

    project.configure("dev", {"canaryVersion": "v1.3.0"})
    wait_for_soak(at10)
    at50 = up(project, "dev", canaryPhase="50")
    assert at50["phase"] == "50"

    # One override skips the soak of 50 once, and is recorded.
    override = {
        "releaseOverride.reason": "latency fix verified in staging",
        "releaseOverride.approvedBy": "ana.release",
        "releaseOverride.ticket": "CHG-7",
    }
    at100 = up(
        project, "dev", canaryPhase="100", **{k.replace(".", "__"): v for k, v in override.items()}
    )
    last = at100["releaseLog"][-1]
    assert (last["step"], last["from"], last["phase"]) == ("advance", "50", "100")
    assert last["reason"] == "override: latency fix verified in staging"
    assert last["override"]
    deployments = {
        d["metadata"]["name"]: d
        for d in project.rendered("rendered/dev")
        if d["kind"] == "Deployment"
    }
    record = json.loads(
        deployments["engine-canary"]["metadata"]["annotations"]["involution.dev/release-override"]
    )
    assert record["ticket"] == "CHG-7"
    again = refused(project, "dev", stableVersion="v1.3.0", canaryVersion=None, canaryPhase="none")
    assert "involution:releaseOverride = " in again and "one override skips one soak" in again

    # Steps back are never blocked by the soak.
    project.configure("dev", {"stableVersion": "v1.2.2", "canaryVersion": "v1.3.0"})
    assert up(project, "dev", canaryPhase="50", releaseOverride=None)["phase"] == "50"
    assert up(project, "dev", canaryPhase="10")["phase"] == "10"
    assert up(project, "dev", canaryPhase="rollback")["canaryWeight"] == 0
    closed = up(project, "dev", canaryPhase="none", canaryVersion=None)
    steps = [(e["from"], e["phase"]) for e in closed["releaseLog"]]
    assert steps == [
        ("-", "none"),
        ("none", "10"),
        ("10", "50"),
        ("50", "100"),
        ("100", "50"),
        ("50", "10"),
        ("10", "rollback"),
        ("rollback", "none"),
    ]


def test_promotion_waits_for_its_soak_then_patch_minor_and_downgrade(
    engine_project: EngineProject,
) -> None:
    project = engine_project
    soaked_dev(project, SHORT_SOAK)
    up(project, "dev", canaryVersion="v1.3.0", canaryPhase="10")
    for phase in ("50", "100"):
        outputs = project.outputs("dev")
        wait_for_soak(outputs)
        up(project, "dev", canaryPhase=phase)
    promote = {"stableVersion": "v1.3.0", "canaryVersion": None, "canaryPhase": "none"}
    assert "involution:soak.100 = '25s'" in refused(project, "dev", **promote)
    wait_for_soak(project.outputs("dev"))
    promoted = up(project, "dev", **promote)
    assert (promoted["stableVersion"], promoted["releaseLog"][-1]["step"]) == ("v1.3.0", "promote")

    patched = up(project, "dev", stableVersion="v1.3.1")
    assert (patched["stableVersion"], patched["releaseLog"][-1]["step"]) == ("v1.3.1", "patch")
    minor = refused(project, "dev", stableVersion="v1.4.0")
    assert "involution:stableVersion = 'v1.4.0'" in minor
    assert "only by promotion from 100" in minor
    older = up(project, "dev", stableVersion="v1.2.2")
    assert (older["stableVersion"], older["releaseLog"][-1]["step"]) == ("v1.2.2", "downgrade")


def test_promote_from_refuses_until_the_upstream_stack_runs_the_version(
    engine_project: EngineProject,
) -> None:
    project = engine_project
    project.init_stack("dev", {"promoteFrom": "qa"})
    project.up("dev")
    never = refused(project, "dev", canaryVersion="v1.3.0", canaryPhase="10")
    assert "involution:promoteFrom = 'qa': an upstream stack running v1.3.0 as stable first: " in (
        never
    )
    assert "qa runs nothing (never deployed)" in never

    project.init_stack("qa", {"stableVersion": "v1.2.2", "renderDirectory": "rendered/qa"})
    project.up("qa")
    assert "qa runs v1.2.2" in refused(project, "dev", canaryPhase="10")
    for changes in (
        {"canaryVersion": "v1.3.0", "canaryPhase": "10"},
        {"canaryPhase": "50"},
        {"canaryPhase": "100"},
        {"stableVersion": "v1.3.0", "canaryVersion": None, "canaryPhase": "none"},
    ):
        up(project, "qa", **changes)
    accepted = up(project, "dev", canaryPhase="10")
    assert (accepted["phase"], accepted["canaryVersion"]) == ("10", "v1.3.0")
