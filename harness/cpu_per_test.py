"""Each test's CPU, as `make bench-tests` reads it: the test process's own and that of the
processes it started and waited for (`pulumi` with its language host, program and provider;
nginx; Prometheus), its fixtures included.

On two cores the suite is CPU-bound, and a test's wall time there counts its wait for a core
as much as its own work: the CPU says where the work is. With INVOLUTION_TEST_CPU naming a
file, every pytest process of the run (each xdist worker) appends one JSON line per test
(tests/cpu_record.py): {"test", "wall", "own", "children"} in seconds.
"""

from __future__ import annotations

import json
import resource
from collections.abc import Iterable
from dataclasses import dataclass

RECORD_ENV = "INVOLUTION_TEST_CPU"


def cpu_seconds() -> tuple[float, float]:
    """(this process, its waited-for descendants): user plus system seconds so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def record_line(test: str, wall: float, own: float, children: float) -> str:
    seconds = {"wall": wall, "own": own, "children": children}
    return json.dumps({"test": test, **{key: round(value, 3) for key, value in seconds.items()}})


@dataclass(frozen=True)
class ModuleCpu:
    module: str
    tests: int
    own: float
    children: float

    @property
    def cpu(self) -> float:
        return self.own + self.children


def by_module(lines: Iterable[str]) -> list[ModuleCpu]:
    """The records summed per test module, most CPU first."""
    sums: dict[str, tuple[int, float, float]] = {}
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        module = str(record["test"]).split("::", 1)[0]
        tests, own, children = sums.get(module, (0, 0.0, 0.0))
        sums[module] = (tests + 1, own + float(record["own"]), children + float(record["children"]))
    found = [ModuleCpu(module, *totals) for module, totals in sums.items()]
    return sorted(found, key=lambda each: -each.cpu)
