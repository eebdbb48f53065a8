"""`pulumi up` consults the canary analysis for a step forward outside dev, with the real
engine and a real Prometheus: advance when it passes, refused on a trigger or when
Prometheus is down, a warning in preview, and steps back never ask."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.engine.project import EngineProject
from harness.engine.templates import Templates
from harness.live.prometheus import Scenario, TrackLoad, live_prometheus
from involution.config.monitoring import MonitoringSettings
from tests import engine_stacks
from tests.tooling import or_missing, require_tool

pytestmark = pytest.mark.engine

HEALTHY = {0.05: 0.6, 0.1: 0.9, 0.2: 0.99, 0.3: 1.0}
STABLE = TrackLoad(rps=180, error_percent=0.05, latency=HEALTHY)
PASSING = TrackLoad(20, 0.05, HEALTHY)
FAILING = TrackLoad(20, 4.0, HEALTHY)
REFUSED = "the release path refuses this step"


# One per test: the series end when it starts, and the analysis asks about the last minutes
# before now, so a server shared across slow engine tests would run out of recent data.
@pytest.fixture
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[TrackLoad], str]]:
    """Starts a Prometheus whose canary in the stack's namespace has the given load; its URL."""
    binary = require_tool("prometheus", "prometheus")
    promtool = require_tool("promtool", "prometheus")
    with contextlib.ExitStack() as running:

        def start(canary: TrackLoad) -> str:
            scenario = Scenario(engine_stacks.GATED_NAMESPACE, canary, STABLE)
            workdir = tmp_path_factory.mktemp("prometheus")
            live = live_prometheus(binary, promtool, [scenario], MonitoringSettings(), workdir)
            return running.enter_context(live).url

        yield start


@pytest.fixture
def gated_at_10(engine_templates: Templates, tmp_path: Path) -> EngineProject:
    """A staging-rules stack `qa` with a canary at 10 and no soak (tests/engine_stacks.py)."""
    project, _ = or_missing(
        lambda: engine_templates.copy("gated-at-10", engine_stacks.gated_at_10, tmp_path)
    )
    return project


def attempt(project: EngineProject, stack: str, command: str) -> tuple[int, str]:
    extra = ["--yes", "--skip-preview"] if command == "up" else []
    result = project.pulumi(command, *extra, "--stack", stack, check=False)
    return result.returncode, result.stdout + result.stderr


def test_a_passing_analysis_lets_the_step_forward_through(
    gated_at_10: EngineProject, serve: Callable[[TrackLoad], str]
) -> None:
    project = gated_at_10
    url = serve(PASSING)
    project.configure("qa", {"monitoring.prometheusUrl": url, "canaryPhase": "50"})
    code, output = attempt(project, "qa", "up")
    assert code == 0, output
    assert "canary analysis: advance" in output
    assert project.outputs("qa")["phase"] == "50"


def test_a_rollback_trigger_refuses_up_warns_in_preview_and_steps_back_freely(
    gated_at_10: EngineProject, serve: Callable[[TrackLoad], str]
) -> None:
    project = gated_at_10
    url = serve(FAILING)
    project.configure("qa", {"monitoring.prometheusUrl": url, "canaryPhase": "50"})
    code, preview = attempt(project, "qa", "preview")
    assert code == 0, preview
    assert f"pulumi up will ask the canary analysis at {url}" in preview
    assert "pulumi up will refuse this step: involution:canaryPhase = '50'" in preview
    code, output = attempt(project, "qa", "up")
    assert code != 0
    assert REFUSED in output
    assert "the canary analysis allows: it says rollback" in output
    assert "Traceback" not in output
    assert project.outputs("qa")["phase"] == "10"
    project.set("qa", "canaryPhase", "rollback")
    code, output = attempt(project, "qa", "up")
    assert code == 0, output
    assert "canary analysis" not in output


def test_prometheus_down_refuses_the_step_forward(gated_at_10: EngineProject) -> None:
    project = gated_at_10
    assert project.outputs("qa")["phase"] == "10"
    down = engine_stacks.PROMETHEUS_DOWN
    project.configure("qa", {"monitoring.prometheusUrl": down, "canaryPhase": "50"})
    code, output = attempt(project, "qa", "up")
    assert code != 0
    assert f"involution:monitoring.prometheusUrl = '{down}': a Prometheus that" in output
    assert project.outputs("qa")["phase"] == "10"
