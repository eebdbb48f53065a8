"""What every `pulumi up` pays before the program registers anything: importing it.

    python -m benchmarks.program_import [--runs 7]     # BENCH_QUICK=1: 3 runs

A fresh interpreter per run, with `pulumi` and `pulumi.runtime` already imported (the language
host's exec wrapper imports them before the program), times `import program`, the module
`__main__.py` imports, by `python -X importtime`; `pulumi` itself is shown apart. Also lists
the heavy libraries the dev stack's start path must not import (HEAVY, which
tests/test_layout.py holds the program to): each is imported on first use, where a stack
needs it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

from benchmarks.quick import full_or_quick, mode
from harness.paths import PROJECT_DIR

# What `pulumi up` of a stack without analysis, image build or cluster (dev) must not import,
# each a twentieth of a second to a second of every run: the analysis' statistics (scipy) and
# HTTP client (httpx), the image build, the cluster client, and the health report's history
# reading (the dashboard reads only its targets).
HEAVY = ("scipy", "httpx", "pulumi_docker", "kubernetes", "involution.health.report")
BUDGET_SECONDS = 1.0  # the target for dev, printed beside the figure


def cumulative_seconds(importtime: str, module: str) -> float:
    """The cumulative time of `module` from `-X importtime` output."""
    for line in importtime.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() == module:
            return int(parts[1]) / 1e6
    raise ValueError(f"{module} not in the import trace")


def one_run() -> tuple[float, float, list[str]]:
    code = (
        "import pulumi, pulumi.runtime, sys; import program; "
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    program = cumulative_seconds(result.stderr, "program")
    pulumi = cumulative_seconds(result.stderr, "pulumi")
    return program, pulumi, result.stdout.split()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=full_or_quick(7, 3))
    runs = parser.parse_args().runs
    samples = [one_run() for _ in range(runs)]
    program = statistics.median(s[0] for s in samples)
    pulumi = statistics.median(s[1] for s in samples)
    heavy = sorted({m for s in samples for m in s[2]})
    print(f"program import for `pulumi up` (dev), {runs} fresh interpreters, {mode()}")
    print(f"  import program median  {program:6.3f} s   (budget {BUDGET_SECONDS:.1f} s)")
    print(f"  samples                {[round(s[0], 3) for s in samples]}")
    print(f"  import pulumi median   {pulumi:6.3f} s   (the language host's, paid anyway)")
    print(f"  heavy libraries loaded {', '.join(heavy) or 'none'} (of {', '.join(HEAVY)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
