"""Engine projects built once per test session and copied per test.

`stack init` and the first `pulumi up` (or a whole release walk) are paid once per template
however many tests, and however many xdist workers, start from it: the first worker to ask
builds it under a file lock in a folder the workers share, the others wait and copy it. What
the build returns (say, the first `up`'s output or a walk's record) is kept beside it as JSON.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.engine.project import EngineProject, copy_project, make_project, project_in

READY = "ready.json"  # written last: a template without it is rebuilt

Build = Callable[[EngineProject], Any]


class Templates:
    def __init__(self, root: Path) -> None:
        self.root = root

    @contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / f"{name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def built(self, name: str, build: Build) -> tuple[EngineProject, Any]:
        """The template `name` (built by `build` on a fresh project if nobody has yet) and
        what `build` returned. Never change it: copy it."""
        folder = self.root / name
        with self._locked(name):
            if not (folder / READY).exists():
                shutil.rmtree(folder, ignore_errors=True)  # a build that failed half-way
                folder.mkdir(parents=True)
                record = build(make_project(folder))
                (folder / READY).write_text(json.dumps(record))
        return project_in(folder), json.loads((folder / READY).read_text())

    def copy(self, name: str, build: Build, base: Path) -> tuple[EngineProject, Any]:
        """A copy of the template in `base`, for one test to change as it likes."""
        template, record = self.built(name, build)
        return copy_project(template, base), record
