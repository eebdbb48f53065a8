"""Where the project's checkout is: the one home of the path every harness module starts from."""

from __future__ import annotations

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
