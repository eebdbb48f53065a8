"""Reads release-line.json, the project's stop-the-line switch, from the project's root.

Read on every preview and update, before any resource is registered. A file that is missing
or cannot be read is `unreadable`, which refuses steps forward like a stopped line.
"""

from __future__ import annotations

from pathlib import Path

from involution.release.line import LINE_FILE, LineState, read_line_file

# The project's root: where Pulumi.yaml and the stack files are, in git.
LINE_PATH = Path(__file__).resolve().parent.parent / LINE_FILE


def read_line(path: Path | None = None) -> LineState:
    return read_line_file(path or LINE_PATH)
