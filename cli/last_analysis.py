"""The last analysis of each stack, kept beside the local state so `status` can show it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cli.workspace import PROJECT_DIR


def analysis_dir() -> Path:
    backend = os.environ.get("PULUMI_BACKEND_URL", "")
    base = Path(backend.removeprefix("file://")) if backend.startswith("file://") else None
    return (base or PROJECT_DIR / ".state") / "analysis"


def save_last_analysis(stack: str, record: dict[str, Any]) -> None:
    folder = analysis_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stack}.json").write_text(json.dumps(record, indent=2, sort_keys=True))


def load_last_analysis(stack: str) -> dict[str, Any] | None:
    path = analysis_dir() / f"{stack}.json"
    if not path.exists():
        return None
    try:
        loaded = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    return loaded if isinstance(loaded, dict) else None
