"""Stop the line and freeze windows through the real engine: one `involution stop-the-line`
refuses steps forward on two stacks at once (hand-made `pulumi up` and the command alike),
`watch` still rolls a failing canary back, `resume` lets them step forward again; a freeze
window refuses a step forward once the program's clock (libfaketime) is inside it, and
`pulumi preview` says when the next window starts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cli import exit_codes
from harness.engine.clock import shifted_clock
from harness.engine.project import EngineProject
from harness.live.prometheus import Scenario, TrackLoad, live_prometheus
from involution.config.monitoring import MonitoringSettings
from tests.tooling import or_missing, require_tool

pytestmark = pytest.mark.engine

REFUSED = "the release path refuses this step"
HEALTHY = {0.05: 0.6, 0.1: 0.9, 0.2: 0.99, 0.3: 1.0}
# dev's canary (namespace involution) fails its error-rate check: watch rolls it back.
FAILING = Scenario(
    "involution",
    TrackLoad(20, 4.0, HEALTHY),
    TrackLoad(rps=180, error_percent=0.05, latency=HEALTHY),
)


def involution(project: EngineProject, *args: str, expect: int = exit_codes.OK) -> str:
    result = project.involution(*args)
    output = result.stdout + result.stderr
    assert result.returncode == expect, output
    assert "Traceback" not in output
    return output


def refused_up(project: EngineProject, stack: str, env: dict[str, str] | None = None) -> str:
    """A hand-made `pulumi up` that the program refuses: nothing changes."""
    before = project.outputs(stack)
    result = project.pulumi(
        "up", "--yes", "--skip-preview", "--stack", stack, check=False, env_extra=env
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert REFUSED in output and "Traceback" not in output
    assert project.outputs(stack) == before
    return output


def phase(project: EngineProject, stack: str) -> Any:
    return project.outputs(stack)["phase"]


def test_stop_the_line_holds_two_stacks_and_watch_still_rolls_back(
    engine_project: EngineProject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = engine_project
    prometheus = require_tool("prometheus", "prometheus")
    promtool = require_tool("promtool", "prometheus")
    workdir = tmp_path_factory.mktemp("prometheus")
    with live_prometheus(prometheus, promtool, [FAILING], MonitoringSettings(), workdir) as live:
        project.init_stack("dev")
        project.set("dev", "monitoring.prometheusUrl", live.url, path=True)
        project.init_stack(
            "qa", {"stableVersion": "v1.2.2", "renderDirectory": "rendered/qa", "namespace": "qa"}
        )
        for stack in ("dev", "qa"):
            project.up(stack)
            involution(project, "start", "--stack", stack, "v1.3.0")

        stopped = involution(project, "stop-the-line", "--reason", "INC-42: error budget spent")
        assert "the line is stopped since" in stopped
        line = json.loads((project.root / "release-line.json").read_text())
        assert (line["stopped"], line["reason"]) == (True, "INC-42: error budget spent")

        # Both stacks at once: a hand-made `pulumi up` and the command are refused alike.
        for stack in ("dev", "qa"):
            project.set(stack, "canaryPhase", "50")
            message = refused_up(project, stack)
            assert "release-line.json = 'stopped': the line is stopped since" in message
            assert "INC-42: error budget spent" in message
            project.set(stack, "canaryPhase", "10")
        advance = involution(project, "advance", "--stack", "qa", expect=exit_codes.REFUSED)
        assert "refused, nothing changed" in advance and "release-line.json = 'stopped'" in advance
        assert project.pulumi(
            "config", "get", "--stack", "qa", "involution:canaryPhase"
        ).stdout == ("10\n")
        status = involution(project, "status", "--stack", "qa")
        assert "line           the line is stopped since" in status

        # Steps back are never held: watch rolls dev's failing canary back, and does not
        # advance anything while the line is stopped.
        watched = involution(project, "watch", "--stack", "dev", "--once", "--auto-advance")
        assert "rollback" in watched
        assert (phase(project, "dev"), phase(project, "qa")) == ("rollback", "10")

    involution(project, "resume", "--reason", "INC-42 resolved")
    involution(project, "advance", "--stack", "qa")
    assert phase(project, "qa") == "50"
    assert "nothing to do: the line runs" in involution(
        project, "resume", "--reason", "again", expect=exit_codes.NOTHING_TO_DO
    )


def next_saturday_noon(now: datetime) -> datetime:
    days = (5 - now.weekday()) % 7 or 7
    return (now + timedelta(days=days)).replace(hour=12, minute=0, second=0, microsecond=0)


def test_a_freeze_window_refuses_a_step_forward_and_preview_announces_it(
    engine_project: EngineProject,
) -> None:
    project = or_missing(lambda: engine_project)
    project.init_stack("dev", {"freeze": "Sat 00:00 - Sun 00:00 UTC"})
    project.up("dev")
    project.configure("dev", {"canaryVersion": "v1.3.0", "canaryPhase": "10"})

    preview = project.pulumi("preview", "--stack", "dev")
    text = preview.stdout + preview.stderr
    assert "next release freeze: Sat 00:00 - Sun 00:00 UTC (weekly release freeze) from " in text

    # The program's clock on Saturday noon (the engine's stays real): inside the window.
    now = datetime.now(UTC)
    saturday = shifted_clock(next_saturday_noon(now) - now)
    message = refused_up(project, "dev", saturday)
    assert "involution:freeze = 'Sat 00:00 - Sun 00:00 UTC': a step forward outside the " in (
        message
    )
    assert "(weekly release freeze): in effect from " in message
    assert "steps back are allowed" in message
    # Outside it, the same step goes.
    project.up("dev")
    assert phase(project, "dev") == "10"
    # Inside it, a step back goes (with a warning that the freeze is in effect).
    project.set("dev", "canaryPhase", "rollback")
    result = project.pulumi("up", "--yes", "--skip-preview", "--stack", "dev", env_extra=saturday)
    assert "release freeze in effect" in result.stdout + result.stderr
    assert phase(project, "dev") == "rollback"
