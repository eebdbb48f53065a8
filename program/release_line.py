"""Reads release-line.json, the project's stop-the-line switch, from the project's root.

Read on every preview and update, before any resource is registered. A file that is missing
or cannot be read is `unreadable`, which refuses steps forward like a stopped line.
"""

from __future__ import annotations

from pathlib import Path

from involution.release_line import LINE_FILE, LineState, parse_line

# The project's root: where Pulumi.yaml and the stack files are, in git.
LINE_PATH = Path(__file__).resolve().parent.parent / LINE_FILE


def read_line(path: Path | None = None) -> LineState:
    path = path or LINE_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        return LineState("unreadable", detail=f"{error.strerror or error} at {path}")
    except UnicodeDecodeError:
        return LineState("unreadable", detail=f"not UTF-8 text at {path}")
    return parse_line(text)
