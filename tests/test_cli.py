"""The `involution` command with the real engine: every verb, every misuse and its exit code,
and `watch` rolling a failing canary back against a real Prometheus with nobody running up."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator

import pytest

from cli import exit_codes
from harness.engine.project import EngineProject
from harness.live.prometheus import LivePrometheus, Scenario, TrackLoad, live_prometheus
from harness.paths import PROJECT_DIR
from harness.scenarios import TEST_ALERTING, TEST_REDIS_PASSWORD
from involution.config.monitoring import MonitoringSettings
from tests.dev_walk import Walk
from tests.engine_stacks import Deployed
from tests.tooling import require_tool

pytestmark = pytest.mark.engine

HEALTHY = {0.05: 0.6, 0.1: 0.9, 0.2: 0.99, 0.3: 1.0}
STABLE = TrackLoad(rps=180, error_percent=0.05, latency=HEALTHY)
# Namespaces stand for stacks: `involution` is the dev stack's, the others are set per test.
FAILING = Scenario("involution", TrackLoad(20, 4.0, HEALTHY), STABLE)
PASSING = Scenario("healthy", TrackLoad(20, 0.05, HEALTHY), STABLE)


# One per test: the series end when it starts, and the analysis asks about the last minutes
# before now, so a server shared across slow engine tests would run out of recent data.
@pytest.fixture
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePrometheus]:
    binary = require_tool("prometheus", "prometheus")
    promtool = require_tool("promtool", "prometheus")
    workdir = tmp_path_factory.mktemp("prometheus")
    with live_prometheus(binary, promtool, [FAILING, PASSING], MonitoringSettings(), workdir) as p:
        yield p


def run(project: EngineProject, *args: str, expect: int = exit_codes.OK) -> str:
    result = project.involution(*args)
    output = result.stdout + result.stderr
    assert result.returncode == expect, output
    assert "Traceback" not in output
    return output


def test_the_console_script_is_installed_in_the_venv() -> None:
    script = PROJECT_DIR / "venv" / "bin" / "involution"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    for verb in ("status", "analyze", "start", "advance", "promote", "rollback", "watch"):
        assert verb in result.stdout


def test_verbs_walk_a_release_and_every_misuse_has_its_exit_code(walked_dev: Walk) -> None:
    """Read from the recorded walk of dev (tests/dev_walk.py), which runs every verb."""

    def said(name: str, expect: int = exit_codes.OK) -> str:
        step = walked_dev.step(name)
        assert step.code == expect, f"{step.command}: {step.output}"
        assert "Traceback" not in step.output
        return step.output

    said("status of an unknown stack", exit_codes.UNKNOWN_STACK)
    assert "not deployed yet" in said("status before the first up")
    assert "nothing to advance" in said("advance with nothing live", exit_codes.NOTHING_TO_DO)
    assert "nothing to roll back" in said("rollback with nothing live", exit_codes.NOTHING_TO_DO)
    assert "is not a semver tag" in said("start latest", exit_codes.USAGE)
    said("start")
    outputs = walked_dev.step("start").outputs
    assert (outputs["phase"], outputs["canaryVersion"]) == ("10", "v1.3.0")
    assert outputs["releaseLog"][-1]["reason"] == "start the canary of v1.3.0 at 10%: CHG-12 go"
    assert "is live at phase 10" in said("start while live", exit_codes.NOTHING_TO_DO)
    said("advance to 100")
    assert "next step is `involution promote`" in said("advance past 100", exit_codes.NOTHING_TO_DO)
    said("staged rollback")
    assert walked_dev.step("staged rollback").outputs["phase"] == "50"
    status = said("status at 50")
    assert "phase          50" in status and "canary         v1.3.0 (50%)" in status
    said("advance to 100 again")
    said("promote")
    promoted = walked_dev.step("promote").outputs
    assert (promoted["stableVersion"], promoted["phase"]) == ("v1.3.0", "none")
    message = {u["message"] for u in walked_dev.updates()}
    assert "promote v1.3.0 to stable" in message


def test_the_reason_stays_out_of_the_stack_file(
    dev_walk_template: tuple[EngineProject, Walk],
) -> None:
    project, _ = dev_walk_template
    assert "releaseReason" not in (project.root / "Pulumi.dev.yaml").read_text()


def test_a_refused_step_changes_nothing_and_says_why(deployed_dev: Deployed) -> None:
    project = deployed_dev.project
    project.set("dev", "soak.10", "1h", path=True)
    run(project, "start", "--stack", "dev", "v1.3.0")
    before = project.pulumi("config", "--json", "--stack", "dev").stdout
    refused = run(project, "advance", "--stack", "dev", expect=exit_codes.REFUSED)
    assert "involution:soak.10 = '1h': phase 10 live for" in refused
    assert "refused, nothing changed" in refused
    assert project.pulumi("config", "--json", "--stack", "dev").stdout == before
    assert project.outputs("dev")["phase"] == "10"


def test_production_start_without_approval_is_refused(engine_project: EngineProject) -> None:
    project = engine_project
    project.init_stack("production", {"renderDirectory": "rendered/production", "kubeContext": ""})
    project.with_secrets("production", TEST_REDIS_PASSWORD, TEST_ALERTING)
    project.init_stack("staging", {"renderDirectory": "rendered/staging", "kubeContext": ""})
    project.with_secrets("staging", TEST_REDIS_PASSWORD, {})
    project.up("staging")
    project.up("production")
    minor = run(project, "start", "--stack", "production", "v1.3.0", expect=exit_codes.REFUSED)
    assert "involution:approval = <unset>: required in production for a minor canary" in minor
    assert "involution:promoteFrom = 'staging'" in minor  # staging does not run v1.3.0 yet
    assert project.outputs("production")["phase"] == "none"


def test_analyze_reports_numbers_and_prometheus_down_has_its_code(
    deployed_dev: Deployed, prometheus: LivePrometheus
) -> None:
    project = deployed_dev.project
    assert "nothing to analyze" in run(
        project, "analyze", "--stack", "dev", expect=exit_codes.NOTHING_TO_DO
    )
    run(project, "start", "--stack", "dev", "v1.3.0")
    down = run(
        project,
        "analyze",
        "--stack",
        "dev",
        "--prometheus-url",
        "http://127.0.0.1:9",
        expect=exit_codes.PROMETHEUS_DOWN,
    )
    assert "http://127.0.0.1:9" in down
    text = run(
        project,
        "analyze",
        "--stack",
        "dev",
        "--prometheus-url",
        prometheus.url,
        "--json",
        expect=exit_codes.ROLLBACK,
    )
    report = json.loads(text[: text.rindex("}") + 1])
    assert report["decision"] == "rollback"
    error_rate = next(c for c in report["checks"] if c["name"] == "error-rate")
    assert error_rate["verdict"] == "fail"
    assert error_rate["value"] == pytest.approx(4.0, rel=0.05)
    assert error_rate["threshold"] == 1
    assert {"name", "verdict", "value", "threshold", "baseline"} <= set(error_rate)
    status = run(project, "status", "--stack", "dev")
    assert "last analysis  rollback" in status


def test_watch_rolls_a_failing_canary_back_by_itself(
    deployed_dev: Deployed, prometheus: LivePrometheus
) -> None:
    project = deployed_dev.project
    project.set("dev", "monitoring.prometheusUrl", prometheus.url, path=True)
    run(project, "start", "--stack", "dev", "v1.3.0")
    watched = run(project, "watch", "--stack", "dev", "--once")
    assert "rollback" in watched
    outputs = project.outputs("dev")
    assert (outputs["phase"], outputs["canaryWeight"]) == ("rollback", 0)
    reason = outputs["releaseLog"][-1]["reason"]
    found = re.search(r"watch: rollback trigger error-rate ([0-9.]+) > 1 \(stable 0\.05\)", reason)
    assert found, reason
    assert float(found.group(1)) == pytest.approx(4.0, rel=0.05)
    # Nothing left to watch: the next scheduled round says so and changes nothing.
    assert "no canary takes traffic on dev (rollback)" in run(
        project, "watch", "--stack", "dev", "--once"
    )
    assert project.outputs("dev")["releaseLog"] == outputs["releaseLog"]
