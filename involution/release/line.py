"""Stop the line: one switch, a file in the repository, that halts every step forward on every
stack of the project.

`release-line.json` at the project's root says whether the line runs:

    {"stopped": false}
    {"stopped": true, "reason": "INC-42: error budget spent", "by": "ana.release",
     "at": "2026-12-01T10:00:00Z"}

The program reads it on every `pulumi up` and preview, so a hand-made `pulumi up` from a
checkout refuses like the workflows do; `involution stop-the-line` and `involution resume`
write it, and the `release-line` workflow commits it, so git history says who stopped and
resumed releases, when and why. A file that is missing or cannot be read stops the line too
(fail closed): only steps back pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from involution.errors import ConfigProblem
from involution.release.state import rfc3339

LINE_FILE = "release-line.json"
Status = Literal["running", "stopped", "unreadable"]


@dataclass(frozen=True)
class LineState:
    """The line as the file says; `detail` says why when it is unreadable."""

    status: Status
    reason: str | None = None
    by: str | None = None
    at: datetime | None = None
    detail: str | None = None

    @property
    def running(self) -> bool:
        return self.status == "running"

    def describe(self) -> str:
        if self.status == "unreadable":
            return f"{LINE_FILE} cannot be read ({self.detail})"
        who = f" by {self.by}" if self.by else ""
        when = f" since {rfc3339(self.at)}" if self.at else ""
        why = f": {self.reason}" if self.reason else ""
        if self.status == "stopped":
            return f"the line is stopped{when}{who}{why}"
        return f"the line runs (resumed{when}{who}{why})" if self.at else "the line runs"

    def as_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"stopped": self.status == "stopped"}
        for key, value in (("reason", self.reason), ("by", self.by)):
            if value:
                record[key] = value
        if self.at is not None:
            record["at"] = rfc3339(self.at)
        return record

    def text(self) -> str:
        """The file's content, as `involution stop-the-line` and `resume` write it."""
        return json.dumps(self.as_record(), indent=2) + "\n"


RUNNING = LineState("running")


def parse_line(text: str) -> LineState:
    """The state the file's text records; `unreadable` (never `running`) when it is not one."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        return LineState("unreadable", detail=f"not JSON: {error.msg} at line {error.lineno}")
    if not isinstance(record, dict) or not isinstance(record.get("stopped"), bool):
        return LineState("unreadable", detail='no "stopped": true or false')
    at: datetime | None = None
    if isinstance(record.get("at"), str):
        try:
            at = datetime.fromisoformat(record["at"])
        except ValueError:
            at = None
    reason = record.get("reason") if isinstance(record.get("reason"), str) else None
    by = record.get("by") if isinstance(record.get("by"), str) else None
    return LineState("stopped" if record["stopped"] else "running", reason, by, at)


def read_line_file(path: Path) -> LineState:
    """The state the file at `path` records; a file that is missing or cannot be read is
    `unreadable`, which refuses steps forward like a stopped line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        return LineState("unreadable", detail=f"{error.strerror or error} at {path}")
    except UnicodeDecodeError:
        return LineState("unreadable", detail=f"not UTF-8 text at {path}")
    return parse_line(text)


@dataclass(frozen=True)
class LineProblem(ConfigProblem):
    """The line refuses a step forward. It is no stack config key: the message names the file
    and the commands that change it."""

    def describe(self) -> str:
        return f"{self.key} = {self.value!r}: {self.allowed}"


def line_problem(line: LineState) -> LineProblem | None:
    """Why the line refuses a step forward now; None while it runs."""
    if line.running:
        return None
    if line.status == "unreadable":
        return LineProblem(
            LINE_FILE,
            "unreadable",
            f"{line.describe()}: a step forward needs it to say the line runs "
            '({"stopped": false}; `involution resume` writes it); steps back are allowed',
        )
    return LineProblem(
        LINE_FILE,
        "stopped",
        f"{line.describe()}; every step forward on every stack of the project is refused until "
        "`involution resume` (the release-line workflow) is committed; steps back are allowed",
    )
