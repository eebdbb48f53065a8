"""`pulumi up` consults the canary analysis for a step forward outside dev, with the real
engine and a real Prometheus: advance when it passes, refused on a trigger or when
Prometheus is down, a warning in preview, and steps back never ask."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.engine import EngineProject
from harness.prometheus import LivePrometheus, Scenario, TrackLoad, live_prometheus
from harness.scenarios import TEST_REDIS_PASSWORD
from involution.config_monitoring import MonitoringSettings
from tests.tooling import require_tool

pytestmark = pytest.mark.engine

HEALTHY = {0.05: 0.6, 0.1: 0.9, 0.2: 0.99, 0.3: 1.0}
STABLE = TrackLoad(rps=180, error_percent=0.05, latency=HEALTHY)
SCENARIOS = [
    Scenario("passing", TrackLoad(20, 0.05, HEALTHY), STABLE),
    Scenario("failing", TrackLoad(20, 4.0, HEALTHY), STABLE),
]
REFUSED = "the release path refuses this step"


# One per test: the series end when it starts, and the analysis asks about the last minutes
# before now, so a server shared across slow engine tests would run out of recent data.
@pytest.fixture
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePrometheus]:
    binary = require_tool("prometheus", "prometheus")
    promtool = require_tool("promtool", "prometheus")
    workdir = tmp_path_factory.mktemp("prometheus")
    with live_prometheus(binary, promtool, SCENARIOS, MonitoringSettings(), workdir) as live:
        yield live


def staging_canary(project: EngineProject, stack: str, namespace: str, url: str) -> None:
    """A staging-rules stack in render mode with a canary at 10 and no soak to wait out."""
    project.init_stack(
        stack,
        {
            "environment": "staging",
            "namespace": namespace,
            "renderDirectory": f"rendered/{stack}",
            "stableVersion": "v1.2.2",
        },
    )
    project.set(stack, "redisPassword", TEST_REDIS_PASSWORD, secret=True)
    project.set(stack, "monitoring.prometheusUrl", url, path=True)
    for phase in ("10", "50", "100"):
        project.set(stack, f"soak.{phase}", "0s", path=True)
    project.up(stack)
    project.set(stack, "canaryVersion", "v1.3.0")
    project.set(stack, "canaryPhase", "10")
    project.up(stack)  # starting a canary does not ask the analysis: it has no data yet


def attempt(project: EngineProject, stack: str, command: str) -> tuple[int, str]:
    extra = ["--yes", "--skip-preview"] if command == "up" else []
    result = project.pulumi(command, *extra, "--stack", stack, check=False)
    return result.returncode, result.stdout + result.stderr


def test_a_passing_analysis_lets_the_step_forward_through(
    engine_project: EngineProject, prometheus: LivePrometheus
) -> None:
    project = engine_project
    staging_canary(project, "qa", "passing", prometheus.url)
    project.set("qa", "canaryPhase", "50")
    code, output = attempt(project, "qa", "up")
    assert code == 0, output
    assert "canary analysis: advance" in output
    assert project.outputs("qa")["phase"] == "50"


def test_a_rollback_trigger_refuses_up_warns_in_preview_and_steps_back_freely(
    engine_project: EngineProject, prometheus: LivePrometheus
) -> None:
    project = engine_project
    staging_canary(project, "qa", "failing", prometheus.url)
    project.set("qa", "canaryPhase", "50")
    code, preview = attempt(project, "qa", "preview")
    assert code == 0, preview
    assert f"pulumi up will ask the canary analysis at {prometheus.url}" in preview
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


def test_prometheus_down_refuses_the_step_forward(engine_project: EngineProject) -> None:
    project = engine_project
    staging_canary(project, "qa", "passing", "http://127.0.0.1:9")
    project.set("qa", "canaryPhase", "50")
    code, output = attempt(project, "qa", "up")
    assert code != 0
    assert "involution:monitoring.prometheusUrl = 'http://127.0.0.1:9': a Prometheus that" in (
        output
    )
    assert project.outputs("qa")["phase"] == "10"
