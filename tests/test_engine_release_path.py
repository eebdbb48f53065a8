"""The release path with the real engine on the file backend: soaks passed on a moved program
clock (harness.engine.clock, libfaketime), every refusal printed by `pulumi up`, the override
recorded, patch and minor, downgrade, `promoteFrom`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from harness.engine.clock import ProgramClock
from harness.engine.project import EngineProject
from tests.engine_stacks import Deployed

pytestmark = pytest.mark.engine

# Never over while the refusals right after a step run; passed by moving the program's clock.
SOAK = "1h"
REFUSED = "the release path refuses this step"


def up(
    project: EngineProject, stack: str, clock: ProgramClock, **changes: str | None
) -> dict[str, Any]:
    keys = {k.replace("__", "."): v for k, v in changes.items()}
    return project.update(stack, keys, env_extra=clock.env()).recorded


def refused(project: EngineProject, stack: str, clock: ProgramClock, **changes: str | None) -> str:
    """`pulumi up` fails with the program's message and changes nothing."""
    before = project.outputs(stack)
    keys = {k.replace("__", "."): v for k, v in changes.items()}
    update = project.update(stack, keys, check=False, env_extra=clock.env())
    output = update.output
    assert update.result.returncode != 0, output
    assert REFUSED in output, output
    assert "Traceback" not in output
    assert project.outputs(stack) == before
    return output


def pass_soak(clock: ProgramClock, outputs: dict[str, Any]) -> None:
    clock.move_past(datetime.fromisoformat(outputs["soakUntil"]))


def soaked_dev(deployed: Deployed) -> EngineProject:
    project = deployed.project
    project.configure("dev", {f"soak.{phase}": SOAK for phase in ("10", "50", "100")})
    return project


def test_walk_with_soaks_refusals_and_an_override(deployed_dev: Deployed) -> None:
    project = soaked_dev(deployed_dev)
    clock = ProgramClock()
    message = refused(project, "dev", clock, canaryVersion="v1.3.0", canaryPhase="50")
    assert "involution:canaryPhase = '50': a next phase of the deployed phase none: none, 10" in (
        message
    )
    at10 = up(project, "dev", clock, canaryPhase="10")
    assert at10["phase"] == "10"
    assert at10["soakUntil"] > at10["phaseSince"]
    assert at10["nextCommands"]["advanceAllowed"].startswith("from ")

    inside = refused(project, "dev", clock, canaryPhase="50")
    assert "involution:soak.10 = '1h': phase 10 live for" in inside
    assert "of its 1h soak" in inside and "left" in inside
    assert "involution:canaryPhase = '100'" in refused(project, "dev", clock, canaryPhase="100")
    changed = refused(project, "dev", clock, canaryPhase="10", canaryVersion="v1.4.0")
    assert "involution:canaryVersion = 'v1.4.0': v1.3.0, the canary live at phase 10" in changed

    project.configure("dev", {"canaryVersion": "v1.3.0"})
    pass_soak(clock, at10)
    at50 = up(project, "dev", clock, canaryPhase="50")
    assert at50["phase"] == "50"

    # One override skips the soak of 50 once, and is recorded.
    override = {
        "releaseOverride.reason": "latency fix verified in staging",
        "releaseOverride.approvedBy": "ana.release",
        "releaseOverride.ticket": "CHG-7",
    }
    at100 = up(
        project,
        "dev",
        clock,
        canaryPhase="100",
        **{k.replace(".", "__"): v for k, v in override.items()},
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
    again = refused(
        project, "dev", clock, stableVersion="v1.3.0", canaryVersion=None, canaryPhase="none"
    )
    assert "involution:releaseOverride = " in again and "one override skips one soak" in again

    # Steps back are never blocked by the soak.
    project.configure("dev", {"stableVersion": "v1.2.2", "canaryVersion": "v1.3.0"})
    assert up(project, "dev", clock, canaryPhase="50", releaseOverride=None)["phase"] == "50"
    assert up(project, "dev", clock, canaryPhase="10")["phase"] == "10"
    assert up(project, "dev", clock, canaryPhase="rollback")["canaryWeight"] == 0
    closed = up(project, "dev", clock, canaryPhase="none", canaryVersion=None)
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
    deployed_dev: Deployed,
) -> None:
    project = soaked_dev(deployed_dev)
    clock = ProgramClock()
    last = up(project, "dev", clock, canaryVersion="v1.3.0", canaryPhase="10")
    for phase in ("50", "100"):
        pass_soak(clock, last)
        last = up(project, "dev", clock, canaryPhase=phase)
    promote = {"stableVersion": "v1.3.0", "canaryVersion": None, "canaryPhase": "none"}
    assert f"involution:soak.100 = '{SOAK}'" in refused(project, "dev", clock, **promote)
    pass_soak(clock, last)  # the refusal changed no output
    promoted = up(project, "dev", clock, **promote)
    assert (promoted["stableVersion"], promoted["releaseLog"][-1]["step"]) == ("v1.3.0", "promote")

    patched = up(project, "dev", clock, stableVersion="v1.3.1")
    assert (patched["stableVersion"], patched["releaseLog"][-1]["step"]) == ("v1.3.1", "patch")
    minor = refused(project, "dev", clock, stableVersion="v1.4.0")
    assert "involution:stableVersion = 'v1.4.0'" in minor
    assert "only by promotion from 100" in minor
    older = up(project, "dev", clock, stableVersion="v1.2.2")
    assert (older["stableVersion"], older["releaseLog"][-1]["step"]) == ("v1.2.2", "downgrade")


def test_promote_from_refuses_until_the_upstream_stack_runs_the_version(
    deployed_dev: Deployed,
) -> None:
    project = deployed_dev.project
    project.set("dev", "promoteFrom", "qa")
    clock = ProgramClock()  # never moved: no soak in this walk
    never = refused(project, "dev", clock, canaryVersion="v1.3.0", canaryPhase="10")
    assert "involution:promoteFrom = 'qa': an upstream stack running v1.3.0 as stable first: " in (
        never
    )
    assert "qa runs nothing (never deployed)" in never

    project.init_stack("qa", {"stableVersion": "v1.2.2", "renderDirectory": "rendered/qa"})
    project.up("qa")
    assert "qa runs v1.2.2" in refused(project, "dev", clock, canaryPhase="10")
    for changes in (
        {"canaryVersion": "v1.3.0", "canaryPhase": "10"},
        {"canaryPhase": "50"},
        {"canaryPhase": "100"},
        {"stableVersion": "v1.3.0", "canaryVersion": None, "canaryPhase": "none"},
    ):
        up(project, "qa", clock, **changes)
    accepted = up(project, "dev", clock, canaryPhase="10")
    assert (accepted["phase"], accepted["canaryVersion"]) == ("10", "v1.3.0")
