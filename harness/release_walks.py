"""Stack histories written by hand, update by update, for the release report (its unit tests
and its benchmark): a clock moved by hand, never the real one."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from involution.config.release import GATE_NAMES
from involution.health.report import StackHistory
from involution.release.history import UpdateRecord

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PASSED = json.dumps(dict.fromkeys(GATE_NAMES, "passed"))
ONE_FAILED = json.dumps({**dict.fromkeys(GATE_NAMES, "passed"), "security": "failed"})


@dataclass
class Walk:
    """`pulumi up` after `pulumi up` on one stack; each lasts `duration`, on a clock the test
    moves by hand (`wait`)."""

    stack: str
    config: dict[str, str]
    now: datetime = T0
    duration: timedelta = timedelta(minutes=1)
    updates: list[UpdateRecord] = field(default_factory=list)

    def wait(self, **delta: float) -> Walk:
        self.now += timedelta(**delta)
        return self

    def up(self, *, ok: bool = True, message: str = "", **changes: str | None) -> UpdateRecord:
        attempted = dict(self.config)
        for key, value in changes.items():
            if value is None:
                attempted.pop(key, None)
            else:
                attempted[key] = value
        record = UpdateRecord(
            version=len(self.updates) + 1,
            kind="update",
            result="succeeded" if ok else "failed",
            start=self.now,
            end=self.now + self.duration,
            message=message,
            config=attempted,
        )
        self.updates.append(record)
        if ok:
            self.config = attempted
        self.now = record.finished
        return record

    def canary(self, version: str, *phases: str, gap: float = 30) -> None:
        self.up(canaryVersion=version, canaryPhase=phases[0])
        for phase in phases[1:]:
            self.wait(minutes=gap).up(canaryPhase=phase)

    def promote(self, gap: float = 30) -> UpdateRecord:
        version = self.config["canaryVersion"]
        return self.wait(minutes=gap).up(
            stableVersion=version, canaryVersion=None, canaryPhase="none"
        )

    def history(self) -> StackHistory:
        return StackHistory(self.stack, tuple(self.updates))


def walk(stack: str, **config: str) -> Walk:
    return Walk(stack, {"stableVersion": "v1.2.2", "canaryPhase": "none", **config})


def dev_walk() -> Walk:
    """Promoted minor, a failed update, a watch rollback, a close, then a patch straight on."""
    w = walk("dev")
    w.up()  # 09:00 first deployment
    w.wait(minutes=9).canary("v1.3.0", "10", "50", "100")  # start ends 09:11
    w.promote()  # ends 10:44
    w.wait(hours=1).canary("v1.4.0", "10")  # 11:44 - 11:45
    w.wait(minutes=5).up(ok=False, canaryPhase="77")  # 11:50 - 11:51, refused
    w.wait(minutes=4).up(
        canaryPhase="rollback",
        message="watch: rollback trigger error-rate 4 > 1 (observed at 2026-11-02T11:53:00Z)",
    )  # 11:55 - 11:56
    w.wait(minutes=10).up(canaryPhase="none")  # close, 12:06 - 12:07
    w.wait(hours=1).up(stableVersion="v1.3.1", canaryVersion=None)  # patch, 13:07 - 13:08
    return w


AFTER_DEV = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def promoted_pair() -> tuple[Walk, Walk]:
    staging = walk("staging", gates=PASSED)
    production = walk("production", gates=PASSED, promoteFrom="staging")
    staging.up()
    production.up()
    staging.canary("v1.3.0", "10", "50", "100")  # first on staging 09:01 - 09:02
    staging.promote()
    production.now = staging.now + timedelta(hours=1)
    production.canary("v1.3.0", "10", "50", "100", gap=24 * 60)
    production.promote(gap=72 * 60)
    staging.now = production.now
    staging.up(stableVersion="v1.3.1")
    production.now = staging.now + timedelta(hours=3)
    production.up(stableVersion="v1.3.1")  # 3h 1m after staging had it
    staging.wait(hours=4).up(stableVersion="v1.3.2")
    production.now = staging.now + timedelta(minutes=29)
    production.up(stableVersion="v1.3.2")  # 30m after
    return staging, production
