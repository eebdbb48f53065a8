"""A fresh `git clone` of the project, run the way a new user runs it: bash, make, the README.

The clone has a venv of its own, so `scripts/venv.sh` (the editable install of the
`involution` command included) really runs in it and `venv/bin/involution` runs the clone's
code on the clone's stacks. Its packages (pip among them) come from this checkout's venv
through a `.pth` file, so pip finds every pin already satisfied and nothing is downloaded. The
environment drops the caller's Pulumi backend, passphrase and project variables; the engine
cache is shared.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from harness.paths import PROJECT_DIR
from harness.tooling import tool_path

# Variables of the caller that would point the clone at another state, passphrase or project.
FOREIGN_PREFIXES = (
    "PULUMI_",
    "INVOLUTION_",
    "COV_CORE_",
    "PYTEST_",
    "VIRTUAL_ENV",
    "KUBECONFIG",
)

# The clone's `venv/bin/pip`: what pip's console script is, on the clone's interpreter.
PIP_LAUNCHER = """#!{python}
import sys
from pip._internal.cli.main import main
sys.exit(main())
"""

# ... but the caches of built tools stay shared (nothing is rebuilt for a clone).
SHARED_CACHES = ("INVOLUTION_ENGINE_HOME", "INVOLUTION_CLUSTER_HOME", "PULUMI_HOME")


@dataclass
class FreshClone:
    """A clone of HEAD in `root`, with its environment."""

    root: Path
    env: dict[str, str]
    git: str

    def run(
        self, *command: str, timeout: float = 900, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            cwd=cwd or self.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )

    def bash(self, script: str, *, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """`script` in one non-interactive bash, from the clone's root."""
        return self.run("bash", "-c", script, timeout=timeout)

    def status(self) -> list[str]:
        """`git status --porcelain` lines, untracked files included."""
        result = self.run(self.git, "status", "--porcelain", "--untracked-files=all")
        assert result.returncode == 0, result.stderr
        return [line for line in result.stdout.splitlines() if line]

    def tracked_files(self) -> dict[str, tuple[int, str]]:
        """Every tracked file's modification time and content hash: a file written with the
        same content still shows (its time moves)."""
        listed = self.run(self.git, "ls-files", "-z")
        found: dict[str, tuple[int, str]] = {}
        for name in filter(None, listed.stdout.split("\0")):
            path = self.root / name
            if path.is_file() and not path.is_symlink():
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found[name] = (path.stat().st_mtime_ns, digest)
        return found


def _shared_site_packages() -> str:
    """This checkout's venv site-packages (the interpreter running the tests)."""
    return sysconfig.get_paths()["purelib"]


def make_clone(base: Path, *, env_extra: dict[str, str] | None = None) -> FreshClone:
    """Clone HEAD into `base/clone` and give it its own venv borrowing this one's packages."""
    git = tool_path("git", "git")
    root = base / "clone"
    subprocess.run(
        [git, "clone", "--quiet", "--no-hardlinks", str(PROJECT_DIR), str(root)], check=True
    )
    # Without ensurepip's own copy of pip (3.5 s of CPU per clone): pip too is borrowed, run
    # by the launcher pip's console script would be, on the clone's interpreter, so it
    # installs into the clone's venv as its own pip would.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    clone_site = subprocess.run(
        [
            str(root / "venv" / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Last in the clone's path (after its own editable install of the project).
    Path(clone_site, "zz-involution-shared.pth").write_text(_shared_site_packages() + "\n")
    pip = root / "venv" / "bin" / "pip"
    pip.write_text(PIP_LAUNCHER.format(python=root / "venv" / "bin" / "python"))
    pip.chmod(0o755)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(FOREIGN_PREFIXES) or k in SHARED_CACHES
    }
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(PROJECT_DIR))
    )
    env.update({"NO_COLOR": "1", "HOME": os.environ.get("HOME", str(base)), **(env_extra or {})})
    return FreshClone(root=root, env=env, git=git)
