"""scripts/pulumi.sh started as a background job of a shell without job control (SIGINT
ignored, which bash cannot undo) starts the engine with SIGINT at its default, so that the
engine's plugins close when `pulumi` asks them by SIGINT instead of after its 5 s wait
(cli/interrupts.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.engine.project import engine_bin
from harness.paths import PROJECT_DIR
from tests.tooling import ignores_sigint, or_missing

pytestmark = pytest.mark.engine


def probe_engine_home(tmp_path: Path) -> Path:
    """The built engine's home (its stamps, so scripts/bootstrap_engine.sh builds nothing), with
    a `pulumi` that prints the signals it was started ignoring in place of the CLI."""
    engine_home = or_missing(engine_bin).parent
    home = tmp_path / "engine"
    shutil.copytree(engine_home / "stamps", home / "stamps")
    for folder in ("bin", "providers"):
        (home / folder).mkdir(parents=True)
        for each in (engine_home / folder).iterdir():
            (home / folder / each.name).symlink_to(each)
    probe = home / "bin" / "pulumi"
    probe.unlink()
    probe.write_text("#!/bin/sh\ngrep SigIgn /proc/$$/status\n")
    probe.chmod(0o755)
    return home


@pytest.mark.parametrize("started", ["in the foreground", "as a background job"])
def test_pulumi_sh_starts_the_engine_hearing_sigint(tmp_path: Path, started: str) -> None:
    deaf = ["env", "--ignore-signal=INT"] if started == "as a background job" else []
    result = subprocess.run(
        [*deaf, str(PROJECT_DIR / "scripts" / "pulumi.sh"), "version"],
        env={**os.environ, "INVOLUTION_ENGINE_HOME": str(probe_engine_home(tmp_path))},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    (line,) = [each for each in result.stdout.splitlines() if each.startswith("SigIgn:")]
    assert not ignores_sigint(line), line
