"""The release report's figures over histories written update by update, on a clock the tests
move by hand: every count, rate and duration is checked exactly."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from harness.release_walks import AFTER_DEV, ONE_FAILED, PASSED, Walk, dev_walk, promoted_pair, walk
from involution.health.report import MET, MISSED, NO_TARGET, TOO_FEW, HealthReport, build_report

pytestmark = pytest.mark.unit

WINDOW = timedelta(days=30)


def report_of(*walks: Walk, now: datetime, since: timedelta = WINDOW) -> HealthReport:
    histories = [w.history() for w in walks]
    return build_report(histories, upstreams={h.name: h for h in histories}, since=since, now=now)


def test_counts_and_rates_of_a_walked_stack() -> None:
    report = report_of(dev_walk(), now=AFTER_DEV)
    assert [(r.version.tag, r.outcome, r.path) for r in report.releases] == [
        ("v1.3.0", "promoted", "canary"),
        ("v1.4.0", "rolled-back", "canary"),
        ("v1.3.1", "released", "direct"),
    ]
    assert report.releases[1].steps == ("start", "rollback", "close")
    assert (len(report.updates), report.failed_updates) == (10, 1)
    assert report.figure("deploymentSuccessRate").value == 0.9
    assert report.figure("deploymentSuccessRate").status == MISSED
    assert report.figure("rollbackFrequency").value == pytest.approx(1 / 3)
    assert report.figure("rollbackFrequency").note == "1 of 3 releases rolled back"
    # dev records no gates: none of its releases passed all six
    assert report.figure("gatePassRate").value == 0.0


def test_mttr_runs_from_the_failure_and_from_the_trigger_to_a_healthy_state() -> None:
    report = report_of(dev_walk(), now=AFTER_DEV)
    assert [(i.cause, i.seconds) for i in report.incidents] == [
        ("failed-update", 300.0),  # 11:51 (refused) -> 11:56 (the rollback deployed)
        ("rollback", 180.0),  # 11:53 (observed by watch) -> 11:56
    ]
    mttr = report.figure("meanTimeToRecovery")
    assert (mttr.value, mttr.status) == (240.0, MET)
    # 09:00 .. 13:08 over two incidents
    mtbf = report.figure("meanTimeBetweenFailures")
    assert (mtbf.value, mtbf.status) == (14880 / 2, MISSED)


def test_time_to_production_on_a_stack_without_upstream() -> None:
    report = report_of(dev_walk(), now=AFTER_DEV)
    times = {t.release.version.tag: t for t in report.production_times}
    assert times["v1.3.0"].seconds == 5580.0  # 09:11 start -> 10:44 stable
    assert times["v1.3.0"].status == NO_TARGET
    assert times["v1.4.0"].seconds is None
    assert times["v1.4.0"].note == "too few data: rolled back, never stable"
    assert (times["v1.3.1"].seconds, times["v1.3.1"].status) == (0.0, MET)


def test_time_to_production_from_the_promote_from_stack() -> None:
    staging, production = promoted_pair()
    report = report_of(production, staging, now=production.now + timedelta(hours=1))
    times = {(t.release.stack, t.release.version.tag): t for t in report.production_times}
    first_on_staging = staging.updates[1].finished
    promoted = production.updates[4].finished
    minor = times["production", "v1.3.0"]
    assert minor.seconds == (promoted - first_on_staging).total_seconds()
    # 09:02 on staging -> 11:39 five days later (24h, 24h and 72h soaks), stable in production
    assert minor.seconds == 5 * 86400 + 2 * 3600 + 37 * 60
    assert (minor.source, minor.status) == ("staging", NO_TARGET)
    assert (times["production", "v1.3.1"].seconds, times["production", "v1.3.1"].status) == (
        3 * 3600 + 60,
        MISSED,
    )
    assert (times["production", "v1.3.2"].seconds, times["production", "v1.3.2"].status) == (
        1800.0,
        MET,
    )
    # staging feeds production: its releases reach production there, not on staging
    assert {stack for stack, _ in times} == {"production"}
    patch = report.figure("timeToProductionPatch")
    assert patch.value == (10860 + 1800) / 2
    assert (patch.status, patch.note) == (MET, "median of 2 patch release(s), longest 3h1m")
    alone = report_of(staging, now=production.now)
    assert [t.seconds for t in alone.production_times] == [93 * 60, 0.0, 0.0]  # 09:02 -> 10:35
    assert report.figure("gatePassRate").value == 1.0


def test_the_window_counts_only_what_started_in_it_but_replays_all_history() -> None:
    report = report_of(dev_walk(), now=AFTER_DEV, since=timedelta(hours=2))
    assert [(r.version.tag, r.outcome) for r in report.releases] == [("v1.3.1", "released")]
    assert len(report.updates) == 2  # the close and the patch
    assert report.figure("deploymentSuccessRate").value == 1.0
    mttr = report.figure("meanTimeToRecovery")
    assert (mttr.value, mttr.status) == (None, TOO_FEW)
    assert mttr.note == "too few data: no recovered incident"


def test_a_retried_release_then_downgraded_is_promoted_and_rolled_back() -> None:
    w = walk("dev", gates=PASSED)
    w.up()
    w.canary("v1.3.0", "10", "rollback", "10", "50", "100")
    w.promote()
    w.wait(hours=2).up(stableVersion="v1.2.2")
    report = report_of(w, now=w.now)
    (release,) = report.releases
    assert release.steps == (
        "start",
        "rollback",
        "retry",
        "advance",
        "advance",
        "promote",
        "downgrade",
    )
    assert (release.outcome, release.rollbacks, release.rolled_back) == ("promoted", 2, True)
    assert report.figure("rollbackFrequency").value == 1.0
    assert [i.cause for i in report.incidents] == ["rollback", "downgrade"]


def test_gates_must_pass_at_every_step_forward_of_a_release() -> None:
    w = walk("staging", gates=PASSED)
    w.up()
    w.canary("v1.3.0", "10")
    w.wait(minutes=5).up(gates=ONE_FAILED, canaryPhase="50")
    w.wait(minutes=5).up(gates=PASSED, canaryPhase="rollback")
    w.up(canaryPhase="none")
    w.up(stableVersion="v1.2.3", canaryVersion=None)
    report = report_of(w, now=w.now)
    assert [r.gates_passed for r in report.releases] == [False, True]
    gate = report.figure("gatePassRate")
    assert (gate.value, gate.status, gate.note) == (
        0.5,
        MISSED,
        "1 of 2 releases passed all six gates",
    )


def test_a_running_canary_and_an_empty_history_say_too_few_data() -> None:
    w = walk("dev")
    w.up()
    w.canary("v2.0.0", "shadow", "10")
    report = report_of(w, now=w.now)
    (release,) = report.releases
    assert (release.kind.value, release.outcome) == ("major", "running")
    (time,) = report.production_times
    assert (time.seconds, time.note) == (None, "too few data: still running")
    empty = report_of(walk("dev"), now=w.now)
    assert {f.key: f.status for f in empty.figures} == dict.fromkeys(
        (
            "deploymentSuccessRate",
            "rollbackFrequency",
            "gatePassRate",
            "timeToProductionPatch",
            "timeToProductionMinorMajor",
            "meanTimeToRecovery",
            "meanTimeBetweenFailures",
        ),
        TOO_FEW,
    )


def test_mtbf_without_a_failure_is_met_only_past_thirty_days() -> None:
    w = walk("production")
    w.up()
    w.wait(days=31).up(stableVersion="v1.2.3")
    long = report_of(w, now=w.now, since=timedelta(days=60)).figure("meanTimeBetweenFailures")
    assert (long.value, long.status, long.note) == (None, MET, "no failure in 31d2m")
    short = report_of(w, now=w.now, since=timedelta(days=1)).figure("meanTimeBetweenFailures")
    assert (short.status, short.note) == (TOO_FEW, "too few data: no failure in 1m observed")
