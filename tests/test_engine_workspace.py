"""The `involution` command's Automation API workspace (cli/engine_workspace.py) with the real
engine behind a wrapper that records every `pulumi` it is asked to run: a verb on a file
backend's stack starts neither `pulumi version` nor `pulumi stack select`, leaves the
operator's selected stack alone, and a stack the backend lacks is still one clear error."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from cli.engine_workspace import LazyVersionCommand
from harness import yaml_load
from harness.engine.project import EngineProject, engine_bin
from harness.processes import run_bounded
from tests.engine_stacks import Deployed

pytestmark = pytest.mark.engine

SECRET = "k9#Vw2!qZr7@Lm4x"


def recording_root(base: Path) -> tuple[Path, Path]:
    """A folder with bin/pulumi that appends its arguments to a log, then runs the engine."""
    log = base / "calls.log"
    bin_dir = base / "root" / "bin"
    bin_dir.mkdir(parents=True)
    wrapper = bin_dir / "pulumi"
    engine = shlex.quote(str(engine_bin() / "pulumi"))
    wrapper.write_text(
        f'#!/usr/bin/env bash\necho "$*" >> {shlex.quote(str(log))}\nexec {engine} "$@"\n'
    )
    wrapper.chmod(0o755)
    return bin_dir.parent, log


def involution(project: EngineProject, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The `involution` command on the project copy, its Automation API running `root`/bin."""
    argv, env = project.involution_command(*args)
    return run_bounded(
        argv, cwd=project.root, env={**env, "INVOLUTION_PULUMI_ROOT": str(root)}, timeout=120
    )


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_the_version_is_asked_once_and_only_when_needed(tmp_path: Path) -> None:
    root, log = recording_root(tmp_path)
    command = LazyVersionCommand(str(root))
    assert calls(log) == []
    version = command.version
    answer = subprocess.run(
        [str(engine_bin() / "pulumi"), "version"], capture_output=True, text=True, check=True
    )
    assert version is not None and f"v{version}" == answer.stdout.strip()
    assert command.version == version
    assert calls(log) == ["version"]


def test_a_verb_runs_no_version_and_no_stack_select(deployed_dev: Deployed, tmp_path: Path) -> None:
    project = deployed_dev.project
    project.init_stack("qa")
    project.pulumi("stack", "select", "qa")
    root, log = recording_root(tmp_path)
    status = involution(project, root, "status", "--stack", "dev")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "stable" in status.stdout
    made = calls(log)
    assert made, "the verb ran no pulumi at all"
    assert all("--stack dev" in line for line in made), made
    assert not [line for line in made if line == "version" or "stack select" in line], made
    # The operator's own `pulumi` commands still have the stack they selected.
    assert project.pulumi("stack", "--show-name").stdout.strip() == "qa"


def test_a_stack_the_backend_lacks_is_asked_of_the_engine_and_named(
    deployed_dev: Deployed, tmp_path: Path
) -> None:
    project = deployed_dev.project
    root, log = recording_root(tmp_path)
    status = involution(project, root, "status", "--stack", "nowhere")
    assert status.returncode == 3, status.stdout + status.stderr
    assert "no stack named 'nowhere'" in status.stderr
    assert "Traceback" not in status.stderr
    assert any("stack select" in line and "nowhere" in line for line in calls(log))


def test_a_step_and_status_decrypt_no_secret(deployed_dev: Deployed, tmp_path: Path) -> None:
    """A step reads the config to put it back on a refusal, status to show holds: neither needs
    a secret, so neither asks the engine to decrypt one (`--show-secrets` derives the
    passphrase's key and brings every secret value into the command's process)."""
    project = deployed_dev.project
    project.pulumi(
        "config", "set", "--secret", "involution:redisPassword", SECRET, "--stack", "dev"
    )
    root, log = recording_root(tmp_path)
    for verb in (("start", "--stack", "dev", "v1.3.0"), ("status", "--stack", "dev")):
        result = involution(project, root, *verb)
        assert result.returncode == 0, result.stdout + result.stderr
        assert SECRET not in result.stdout + result.stderr
    made = calls(log)
    assert any(line.startswith("--non-interactive config --json") for line in made), made
    assert not [line for line in made if "--show-secrets" in line], made
    assert project.outputs("dev")["phase"] == "10"
    shown = project.pulumi("config", "get", "involution:redisPassword", "--stack", "dev")
    assert shown.stdout.strip() == SECRET


def test_a_step_saves_its_config_with_its_up_and_reads_the_outputs_from_its_events(
    deployed_dev: Deployed, tmp_path: Path
) -> None:
    """Four commands a step: the outputs and the config it starts from, one `pulumi up` that
    saves the step's keys (`--config`) and logs its engine events, the reason removed. What it
    prints of the new outputs comes from those events and is what the engine holds."""
    project = deployed_dev.project
    root, log = recording_root(tmp_path)
    result = involution(project, root, "start", "--stack", "dev", "v1.3.0")
    assert result.returncode == 0, result.stdout + result.stderr
    made = calls(log)
    expected = ("stack output --json", "config --json", "up --yes", "config rm involution:rel")
    assert len(made) == len(expected), made
    for line, start in zip(made, expected, strict=True):
        assert line.startswith(f"--non-interactive {start}"), made
    up = made[2]
    assert "--config=involution:canaryVersion=v1.3.0" in up.split(), up
    assert "--config=involution:canaryPhase=10" in up.split(), up
    assert "--event-log" in up.split(), up
    held = yaml_load.load((project.root / "Pulumi.dev.yaml").read_text())["config"]
    assert held["involution:canaryVersion"] == "v1.3.0"
    assert "involution:releaseReason" not in held
    outputs = project.outputs("dev")
    assert (
        f"dev at phase {outputs['phase']} (stable {outputs['stableWeight']}%, "
        f"canary {outputs['canaryWeight']}%)"
    ) in result.stdout
    assert outputs["phase"] == "10"
