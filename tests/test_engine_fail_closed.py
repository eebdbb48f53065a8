"""Fail closed and say what happened, with the real engine on the file backend.

Outputs that cannot be read (written into the state with `pulumi stack import`, as a damaged
or hand-edited state would be) refuse every step forward and let a rollback through. A failed
update (the provider cannot write the render folder) is told apart from a refusal: the config
keeps what was asked for, `involution status` says so, and a retry is the same step; `watch`
retries a rollback that failed until it is deployed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli import exit_codes
from harness.engine.project import EngineProject, engine_bin, history
from harness.live.prometheus import LivePrometheus, Scenario, TrackLoad, live_prometheus
from harness.paths import PROJECT_DIR
from involution.config.monitoring import MonitoringSettings
from tests.tooling import require_tool

pytestmark = pytest.mark.engine

REFUSED = "the release path refuses this step"
# dev renders its manifests here; a file in the folder's place makes every write fail.
MANIFESTS = Path("rendered") / "dev" / "1-manifest"


def set_output(project: EngineProject, name: str, value: Any, tmp_path: Path) -> None:
    """Rewrite one stack output in the state, as a damaged or hand-edited state has it."""
    exported = json.loads(project.pulumi("stack", "export", "--stack", "dev").stdout)
    stack = next(
        r for r in exported["deployment"]["resources"] if r["type"] == "pulumi:pulumi:Stack"
    )
    stack["outputs"][name] = value
    edited = tmp_path / "state.json"
    edited.write_text(json.dumps(exported))
    project.pulumi("stack", "import", "--stack", "dev", "--file", str(edited))


def test_unreadable_outputs_refuse_steps_forward_and_allow_a_rollback(
    dev_at_10: EngineProject, tmp_path: Path
) -> None:
    project = dev_at_10
    set_output(project, "phase", "fifty", tmp_path)
    for forward in ("50", "10"):
        project.set("dev", "canaryPhase", forward)
        result = project.pulumi("up", "--yes", "--skip-preview", "--stack", "dev", check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert REFUSED in output and "the stack's last output phase = 'fifty'" in output, output
        assert "Traceback" not in output
    refused = project.involution("advance", "--stack", "dev")
    assert refused.returncode == exit_codes.REFUSED, refused.stdout + refused.stderr
    assert "phase = 'fifty' is not a phase" in refused.stderr
    project.set("dev", "canaryPhase", "rollback")
    project.up("dev")
    outputs = project.outputs("dev")
    assert outputs["phase"] == "rollback"
    assert outputs["releaseLog"][-1]["from"] == "unreadable"


def break_render_folder(project: EngineProject) -> Path:
    folder = project.root / MANIFESTS
    shutil.rmtree(folder)
    folder.write_text("not a folder: the provider cannot write here\n")
    return folder


def mend_render_folder(folder: Path) -> None:
    folder.unlink()
    folder.mkdir()


def test_a_failed_update_keeps_the_config_and_says_how_on(dev_at_10: EngineProject) -> None:
    project = dev_at_10
    folder = break_render_folder(project)
    failed = project.involution("advance", "--stack", "dev", "--reason", "CHG-7")
    output = failed.stdout + failed.stderr
    assert failed.returncode == exit_codes.FAILED_UPDATE, output
    assert "refused, nothing changed" not in output
    assert "the update failed after it began" in output
    assert "dev is in a failed update" in output and "involution status --stack dev" in output
    config = json.loads(project.pulumi("config", "--json", "--stack", "dev").stdout)
    assert config["involution:canaryPhase"]["value"] == "50"  # what was asked for, kept

    status = project.involution("status", "--stack", "dev")
    assert status.returncode == exit_codes.OK, status.stderr
    assert "last update    FAILED at" in status.stdout, status.stdout
    assert "its config asks for canaryPhase 50" in status.stdout

    mend_render_folder(folder)
    project.up("dev")  # the retry is the same step
    assert project.outputs("dev")["phase"] == "50"
    assert "FAILED" not in project.involution("status", "--stack", "dev").stdout


def test_a_refusal_puts_the_config_back(dev_at_10: EngineProject) -> None:
    project = dev_at_10
    project.set("dev", "soak.10", "1h", path=True)
    project.up("dev")
    before = project.pulumi("config", "--json", "--stack", "dev").stdout
    again = project.involution("advance", "--stack", "dev")
    assert again.returncode == exit_codes.REFUSED, again.stderr
    assert "refused, nothing changed" in again.stderr
    assert project.pulumi("config", "--json", "--stack", "dev").stdout == before
    status = project.involution("status", "--stack", "dev").stdout
    assert "last update    refused at" in status, status


FAILING = Scenario(
    "involution",
    TrackLoad(20, 4.0, {0.05: 0.6, 0.1: 0.9, 0.2: 0.99, 0.3: 1.0}),
    TrackLoad(180, 0.05, {0.05: 0.6, 0.1: 0.9, 0.2: 0.99, 0.3: 1.0}),
)


@pytest.fixture
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePrometheus]:
    binary = require_tool("prometheus", "prometheus")
    promtool = require_tool("promtool", "prometheus")
    workdir = tmp_path_factory.mktemp("prometheus")
    with live_prometheus(binary, promtool, [FAILING], MonitoringSettings(), workdir) as live:
        yield live


def test_watch_retries_a_failed_rollback_until_it_is_deployed(
    dev_at_10: EngineProject, prometheus: LivePrometheus
) -> None:
    project = dev_at_10
    folder = break_render_folder(project)
    env = {
        **project.env,
        "INVOLUTION_PROJECT_DIR": str(project.root),
        "INVOLUTION_PULUMI_ROOT": str(engine_bin().parent),
        "PYTHONPATH": str(PROJECT_DIR),
    }
    command = [
        *(str(PROJECT_DIR / "venv" / "bin" / "python"), "-m", "involution", "watch"),
        *("--stack", "dev", "--interval", "2s", "--max-rounds", "12"),
        *("--prometheus-url", prometheus.url),
    ]
    watch = subprocess.Popen(
        command,
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watch.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = watch.stderr.readline()
        seen.append(line)
        sys.stderr.write(line)
        if "did not happen" in line:
            break
    assert any("retrying it every 2s" in line for line in seen), "".join(seen)
    mend_render_folder(folder)
    out, err = watch.communicate(timeout=600)
    output = "".join(seen) + out + err
    assert watch.returncode == exit_codes.OK, output
    outputs = project.outputs("dev")
    assert outputs["phase"] == "rollback"
    assert "watch: rollback trigger error-rate" in outputs["releaseLog"][-1]["reason"]
    newest, failed = history(project, "dev")[:2]
    assert (failed["result"], newest["result"]) == ("failed", "succeeded")
    assert "(retried)" in newest["message"] and "watch: rollback trigger" in newest["message"]


def test_watch_once_whose_rollback_fails_exits_non_zero(
    dev_at_10: EngineProject, prometheus: LivePrometheus
) -> None:
    project = dev_at_10
    break_render_folder(project)
    result = project.involution(
        "watch", "--stack", "dev", "--once", "--prometheus-url", prometheus.url
    )
    output = result.stdout + result.stderr
    assert result.returncode == exit_codes.FAILED_UPDATE, output
    assert "dev is in a failed update" in output and "did not happen" in output
