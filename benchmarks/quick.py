"""The benchmarks' short mode: `BENCH_QUICK=1` (`make bench QUICK=1`, `make bench-quick`)
runs every scenario once with a smaller load, to prove the scripts still run end to end.
The figures it prints are real but noisier; the defaults are for reading them."""

from __future__ import annotations

import os
from typing import TypeVar

QUICK_ENV = "BENCH_QUICK"
T = TypeVar("T")


def quick() -> bool:
    return os.environ.get(QUICK_ENV, "").strip().lower() in {"1", "true", "yes"}


def full_or_quick(full: T, short: T) -> T:
    """A default for the full run, or its short-mode counterpart."""
    return short if quick() else full


def mode() -> str:
    return f"short mode ({QUICK_ENV}=1)" if quick() else "full run"
