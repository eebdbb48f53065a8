"""The cheapest benchmark runs end to end, so a change to the program cannot leave the
benchmark scripts broken until someone needs their figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def test_mock_run_benchmark_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.mock_run", "--runs", "1"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "resources)" in result.stdout
    for label in ("warm", "baseline", "ratio", "cold"):
        assert label in lines, result.stdout
