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
