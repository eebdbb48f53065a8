"""`involution` pointed at a folder without an engine (INVOLUTION_PULUMI_ROOT) says so in one
line naming the variable and its value, before it runs anything: no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli import exit_codes
from harness.paths import PROJECT_DIR

pytestmark = pytest.mark.unit


def involution(
    argv: tuple[str, ...], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """The command as a user starts it, in `cwd` with `env`."""
    return subprocess.run(
        [sys.executable, "-m", "involution", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ("status", "--stack", "dev"),
        ("advance", "--stack", "dev"),
        ("report", "--stack", "dev"),
    ],
)
def test_a_root_without_bin_pulumi_is_one_clear_error(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    env = {**os.environ, "INVOLUTION_PULUMI_ROOT": str(tmp_path)}
    result = involution(argv, env, PROJECT_DIR)
    assert result.returncode == exit_codes.USAGE, result.stderr
    assert result.stderr.startswith(f"involution: INVOLUTION_PULUMI_ROOT={tmp_path}: no "), (
        result.stderr
    )
    assert "bin/pulumi" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_another_project_on_the_default_engine_folder_is_refused_before_any_command(
    tmp_path: Path,
) -> None:
    """scripts/pulumi.sh works in its own project: pointed at another one, a step would have
    changed this project's stack files. The command refuses, naming both variables."""
    env = {k: v for k, v in os.environ.items() if k != "INVOLUTION_PULUMI_ROOT"}
    env["INVOLUTION_PROJECT_DIR"] = str(tmp_path)
    before = {p.name: p.read_bytes() for p in PROJECT_DIR.glob("Pulumi.*.yaml")}
    result = involution(("start", "v1.3.0", "--stack", "dev"), env, tmp_path)
    assert result.returncode == exit_codes.USAGE, result.stderr
    assert result.stderr.startswith(f"involution: INVOLUTION_PROJECT_DIR={tmp_path}: "), (
        result.stderr
    )
    assert "INVOLUTION_PULUMI_ROOT" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in PROJECT_DIR.glob("Pulumi.*.yaml")} == before
