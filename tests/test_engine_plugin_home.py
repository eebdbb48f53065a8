"""scripts/bootstrap_engine.sh finds the provider where the CLI does: $PULUMI_HOME, else the
.pulumi folder of the user's home in the passwd database (Go's user.Current()), not $HOME.

With another $HOME (sudo -E, containers, CI runners that set it) the script once looked in
$HOME/.pulumi, found nothing, and reinstalled the provider with --reinstall on every call:
every scripts/pulumi.sh removed the plugin under the engines running beside it, whose
`up`s then failed with "no resource plugin 'pulumi-resource-kubernetes' found"."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

import pytest

from harness.engine import pulumi_home
from harness.engine.project import engine_bin
from harness.paths import PROJECT_DIR
from tests.tooling import or_missing

pytestmark = pytest.mark.engine

PROVIDER = "resource-kubernetes-v4.25.0"


def plugin_dir() -> Path:
    home = os.environ.get("PULUMI_HOME") or str(Path(pwd.getpwuid(os.getuid()).pw_dir) / ".pulumi")
    return Path(home) / "plugins" / PROVIDER


def test_another_home_finds_the_installed_provider_and_reinstalls_nothing(tmp_path: Path) -> None:
    engine_home = or_missing(engine_bin).parent
    before = plugin_dir().stat()
    result = subprocess.run(
        [str(PROJECT_DIR / "scripts" / "bootstrap_engine.sh")],
        env={**os.environ, "HOME": str(tmp_path), "INVOLUTION_ENGINE_HOME": str(engine_home)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "install" not in result.stderr.lower(), result.stderr
    after = plugin_dir().stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert not (tmp_path / ".pulumi").exists()
    assert f"in {plugin_dir().parent.parent}" in result.stderr


def test_the_suites_engine_logs_into_its_own_home_and_finds_the_provider(tmp_path: Path) -> None:
    """Every `pulumi` writes a debug log into $PULUMI_HOME/logs and reads the folder whole
    first (harness/engine/pulumi_home.py): the suite's go to its own home, none to the
    user's, and its engine still finds the provider through the shared plugin cache."""
    engine = or_missing(engine_bin)
    home = Path(os.environ["PULUMI_HOME"])
    assert os.environ.get(pulumi_home.MARK) == str(home)
    user_logs = pulumi_home.user_home({}) / "logs"
    before = set(os.listdir(user_logs)) if user_logs.is_dir() else set()
    ours = set(os.listdir(home / "logs")) if (home / "logs").is_dir() else set()
    result = subprocess.run(
        [str(engine / "pulumi"), "plugin", "ls", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert '"name": "kubernetes"' in result.stdout
    assert set(os.listdir(home / "logs")) - ours, "the command wrote no log into the suite's home"
    after = set(os.listdir(user_logs)) if user_logs.is_dir() else set()
    assert after == before
