"""The Automation API workspace of the `involution` command, without two `pulumi` processes
the API starts on every verb: `pulumi version` when its command object is made and `pulumi
stack select` when a stack is opened (each a start of the engine, 0.2 to 0.5 s through
scripts/pulumi.sh, of a verb's 1.5 s).

The version is asked the first time the API needs it (its feature checks of commands the
verbs seldom run). A stack of a local file backend is found by its checkpoint file, as
scripts/pulumi.sh does; anywhere else, and whenever that file is not there, `pulumi stack
select` answers as before. On a file backend, opening a stack therefore no longer makes it
the selected stack of the operator's own `pulumi` commands (every command of a verb names its
stack anyway).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pulumi import automation as auto
from semver import VersionInfo

FILE_BACKEND = "file://"
# The checkpoint files a file backend keeps per stack (project-scoped layout).
CHECKPOINT_SUFFIXES = (".json", ".json.gz")


class LazyVersionCommand(auto.PulumiCommand):
    """The engine's `pulumi` in `root`/bin, its version read on first use."""

    def __init__(self, root: str) -> None:  # no super().__init__: it runs `pulumi version`
        self.command = os.path.join(root, "bin", "pulumi")
        self._version: VersionInfo | None = None
        self._asked = False

    @property
    def version(self) -> VersionInfo | None:
        if not self._asked:
            env = {**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}
            answer = subprocess.check_output([self.command, "version"], env=env, text=True)
            try:
                self._version = VersionInfo.parse(answer.strip().removeprefix("v"))
            except ValueError:
                self._version = None  # as the API does with version checks skipped
            self._asked = True
        return self._version

    @version.setter
    def version(self, value: VersionInfo | None) -> None:
        self._version, self._asked = value, True


class ProjectWorkspace(auto.LocalWorkspace):
    """A LocalWorkspace whose stack selection reads a file backend's folder first."""

    def select_stack(self, stack_name: str) -> None:
        if self._checkpoint_exists(stack_name):
            return
        super().select_stack(stack_name)  # raises StackNotFoundError for a missing stack

    def _checkpoint_exists(self, stack_name: str) -> bool:
        backend = {**os.environ, **self.env_vars}.get("PULUMI_BACKEND_URL", "")
        if not backend.startswith(FILE_BACKEND) or "/" in stack_name:
            return False
        project = self.project_settings().name
        folder = Path(backend.removeprefix(FILE_BACKEND)) / ".pulumi" / "stacks" / project
        return any((folder / f"{stack_name}{suffix}").is_file() for suffix in CHECKPOINT_SUFFIXES)
