"""The rendered alert rules on the real promtool: syntax, and the logic of every trigger.

`promtool check rules` reads the file the cluster gets, annotations and all. `promtool test
rules` then replays input series for each trigger; the logic tests use the same rules with
the annotations left out, because their templated text (humanized values) is checked by the
syntax check and unit tests, while label sets and `for` timing are what these tests pin down.
"""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.mockrun import MockRun
from tests.conftest import STACKS, canary_overrides
from tests.tooling import require_tool
from tools.render import alert_rules

pytestmark = pytest.mark.tools
Runner = Callable[..., MockRun]
NS = 'namespace="involution"'


def promtool() -> str:
    return require_tool("promtool", "prometheus")


def rules_of(run: MockRun) -> dict[str, Any]:
    rules = alert_rules(run)
    assert rules is not None
    return rules


@pytest.mark.parametrize("stack", STACKS)
def test_check_rules_on_the_rendered_file(mocked: Runner, stack: str, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules_of(mocked(stack, canary_overrides("10")))))
    result = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 17 rules found" in result.stdout


def labels_of(rules: dict[str, Any], alert: str) -> dict[str, str]:
    rule = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == alert)
    return {**rule["labels"], "namespace": "involution"}


def counter(labels: str, per_second: float, minutes: int = 40) -> dict[str, str]:
    """A counter growing `per_second`, sampled every minute."""
    return {"series": f"{{{labels}}}", "values": f"0+{per_second * 60:g}x{minutes}"}


def requests(track: str, ok_rps: float, error_rps: float) -> list[dict[str, str]]:
    metric = "involution_http_requests_total"
    series = [counter(f'__name__="{metric}",{NS},track="{track}",code="200"', ok_rps)]
    if error_rps:
        series.append(counter(f'__name__="{metric}",{NS},track="{track}",code="500"', error_rps))
    return series


def latency(track: str, rps: float, under_100ms: float) -> list[dict[str, str]]:
    """Histogram where `under_100ms` of requests take <= 0.1 s and the rest <= 0.5 s."""
    metric = "involution_http_request_duration_seconds_bucket"
    buckets = {"0.1": rps * under_100ms, "0.5": rps, "+Inf": rps}
    return [
        counter(f'__name__="{metric}",{NS},track="{track}",le="{le}"', value)
        for le, value in buckets.items()
    ]


def canary_weight(weight: int) -> dict[str, str]:
    """The router's exported weight, as scraped from one nginx pod."""
    return {
        "series": f'involution_canary_weight{{{NS},track="canary",pod="r1"}}',
        "values": f"{weight}x40",
    }


def shadow_router(mirror_percent: int = 100) -> list[dict[str, str]]:
    """The router at shadow: canary weight 0, copies of `mirror_percent` of requests."""
    return [
        canary_weight(0),
        {
            "series": f'involution_canary_mirror_percent{{{NS},track="canary",pod="r1"}}',
            "values": f"{mirror_percent}x40",
        },
    ]


def healthy_stable() -> list[dict[str, str]]:
    return requests("stable", 90, 0) + latency("stable", 90, 1.0)


def case(
    series: list[dict[str, str]], checks: list[tuple[str, str, list[dict[str, str]]]]
) -> dict[str, Any]:
    return {
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [
            {
                "eval_time": at,
                "alertname": name,
                "exp_alerts": [{"exp_labels": labels} for labels in exp],
            }
            for at, name, exp in checks
        ],
    }


def scenarios(rules: dict[str, Any]) -> dict[str, dict[str, Any]]:
    def fired(alert: str) -> list[dict[str, str]]:
        return [labels_of(rules, alert)]

    none: list[dict[str, str]] = []
    return {
        "error-rate-over-1pct-fires-after-2m": case(
            # 2% of canary requests fail from the start; the 5m rate needs a few samples.
            healthy_stable() + requests("canary", 9.8, 0.2) + latency("canary", 10, 1.0),
            [
                ("2m", "InvolutionCanaryErrorRateHigh", none),  # still pending (for: 2m)
                ("10m", "InvolutionCanaryErrorRateHigh", fired("InvolutionCanaryErrorRateHigh")),
                ("10m", "InvolutionCanaryErrorRateSpike", none),  # 2% is no spike
                (
                    "20m",
                    "InvolutionCanaryErrorRateAboveStable",
                    fired("InvolutionCanaryErrorRateAboveStable"),
                ),
            ],
        ),
        "error-rate-under-1pct-stays-silent": case(
            healthy_stable() + requests("canary", 9.95, 0.05) + latency("canary", 10, 1.0),
            [
                ("20m", "InvolutionCanaryErrorRateHigh", none),
                ("20m", "InvolutionCanaryErrorRateSpike", none),
                # 0.5% vs 0%: above the 0.1-point monitoring threshold.
                (
                    "20m",
                    "InvolutionCanaryErrorRateAboveStable",
                    fired("InvolutionCanaryErrorRateAboveStable"),
                ),
            ],
        ),
        "error-rate-equal-to-stable-is-no-increase": case(
            requests("stable", 89.91, 0.09)
            + latency("stable", 90, 1.0)
            + requests("canary", 9.99, 0.01)
            + latency("canary", 10, 1.0),
            [("20m", "InvolutionCanaryErrorRateAboveStable", none)],
        ),
        "error-spike-over-5pct-fires-after-1m": case(
            healthy_stable() + requests("canary", 9, 1) + latency("canary", 10, 1.0),
            [
                ("6m", "InvolutionCanaryErrorRateSpike", fired("InvolutionCanaryErrorRateSpike")),
                ("6m", "InvolutionCanaryErrorRateHigh", fired("InvolutionCanaryErrorRateHigh")),
            ],
        ),
        "low-traffic-never-triggers": case(
            # Half of 0.1 req/s fail: a ratio that means nothing at this volume.
            healthy_stable() + requests("canary", 0.05, 0.05) + latency("canary", 0.1, 0.0),
            [
                ("20m", "InvolutionCanaryErrorRateHigh", none),
                ("20m", "InvolutionCanaryErrorRateSpike", none),
                ("20m", "InvolutionCanaryLatencyHigh", none),
                ("20m", "InvolutionCanaryLatencyDegraded", none),
            ],
        ),
        "no-data-warns-but-never-rolls-back": case(
            [*healthy_stable(), canary_weight(10)],
            [
                ("5m", "InvolutionCanaryNoTraffic", none),  # pending: for 10m
                ("15m", "InvolutionCanaryNoTraffic", fired("InvolutionCanaryNoTraffic")),
                ("15m", "InvolutionCanaryErrorRateHigh", none),
                ("15m", "InvolutionCanaryHealthCheckFailing", none),
            ],
        ),
        "shadow-without-copies-warns-no-data": case(
            [*healthy_stable(), *shadow_router()],
            [("15m", "InvolutionCanaryNoTraffic", fired("InvolutionCanaryNoTraffic"))],
        ),
        "shadow-copies-are-canary-traffic": case(
            # Mirrored copies, labelled track="canary" by the canary pods, fail at 2%: the
            # rollback triggers judge them as canary traffic, weight 0 or not.
            [
                *healthy_stable(),
                *shadow_router(),
                *requests("canary", 9.8, 0.2),
                *latency("canary", 10, 1.0),
            ],
            [
                ("10m", "InvolutionCanaryNoTraffic", none),
                ("10m", "InvolutionCanaryErrorRateHigh", fired("InvolutionCanaryErrorRateHigh")),
            ],
        ),
        "traffic-flowing-means-no-no-data-warning": case(
            [
                *healthy_stable(),
                *requests("canary", 10, 0),
                *latency("canary", 10, 1.0),
                canary_weight(10),
            ],
            [("20m", "InvolutionCanaryNoTraffic", none)],
        ),
        "latency-over-300ms-and-degraded-fire": case(
            # 80% of canary requests take up to 0.5 s: p95 ~ 0.475 s, stable p95 ~ 0.095 s.
            healthy_stable() + requests("canary", 10, 0) + latency("canary", 10, 0.2),
            [
                ("4m", "InvolutionCanaryLatencyHigh", none),
                ("12m", "InvolutionCanaryLatencyHigh", fired("InvolutionCanaryLatencyHigh")),
                (
                    "12m",
                    "InvolutionCanaryLatencyDegraded",
                    fired("InvolutionCanaryLatencyDegraded"),
                ),
                (
                    "20m",
                    "InvolutionCanaryLatencyAboveStable",
                    fired("InvolutionCanaryLatencyAboveStable"),
                ),
            ],
        ),
        "latency-like-stable-stays-silent": case(
            healthy_stable() + requests("canary", 10, 0) + latency("canary", 10, 1.0),
            [
                ("20m", "InvolutionCanaryLatencyHigh", none),
                ("20m", "InvolutionCanaryLatencyDegraded", none),
                ("20m", "InvolutionCanaryLatencyAboveStable", none),
            ],
        ),
        "health-failing-over-5m-rolls-back": case(
            [
                *healthy_stable(),
                {
                    "series": 'kube_deployment_status_replicas_unavailable{namespace="involution",'
                    'deployment="engine-canary"}',
                    "values": "0x3 1x30",
                },
            ],
            [
                ("7m", "InvolutionCanaryHealthCheckFailing", none),  # 4 minutes failing
                (
                    "10m",
                    "InvolutionCanaryHealthCheckFailing",
                    fired("InvolutionCanaryHealthCheckFailing"),
                ),
                ("10m", "InvolutionStableHealthCheckFailing", none),
            ],
        ),
        "scrape-target-down-counts-as-health-failure": case(
            [{"series": f'up{{{NS},track="canary",job="engine"}}', "values": "0x20"}],
            [
                (
                    "6m",
                    "InvolutionCanaryHealthCheckFailing",
                    fired("InvolutionCanaryHealthCheckFailing"),
                )
            ],
        ),
        "any-accuracy-failure-fires-at-once": case(
            [
                {
                    "series": 'involution_accuracy_check_failures_total{namespace="involution",'
                    'track="canary"}',
                    "values": "0x5 1x10",
                },
                {
                    "series": 'involution_accuracy_check_failures_total{namespace="involution",'
                    'track="stable"}',
                    "values": "0x5 3x10",
                },
            ],
            [
                ("5m", "InvolutionCanaryAccuracyDeviation", none),
                (
                    "6m",
                    "InvolutionCanaryAccuracyDeviation",
                    fired("InvolutionCanaryAccuracyDeviation"),
                ),
            ],
        ),
        "stable-track-errors-page-without-rollback": case(
            requests("stable", 80, 10) + latency("stable", 90, 1.0),
            [
                ("12m", "InvolutionStableErrorRateHigh", fired("InvolutionStableErrorRateHigh")),
                ("12m", "InvolutionCanaryErrorRateHigh", none),
            ],
        ),
    }


def without_annotations(rules: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(rules)
    for group in stripped["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    return stripped


def test_every_trigger_fires_and_stays_silent_as_specified(mocked: Runner, tmp_path: Path) -> None:
    rules = rules_of(mocked("production", canary_overrides("10")))
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(without_annotations(rules)))
    cases = scenarios(rules)
    test_file = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{"name": name, **body} for name, body in cases.items()],
    }
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(test_file, sort_keys=False))
    result = subprocess.run(
        [promtool(), "test", "rules", "tests.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_catches_a_wrong_expectation(mocked: Runner, tmp_path: Path) -> None:
    """The harness can fail: expecting silence where the spike rule fires is reported."""
    rules = rules_of(mocked("production", canary_overrides("10")))
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(without_annotations(rules)))
    wrong = case(
        healthy_stable() + requests("canary", 9, 1) + latency("canary", 10, 1.0),
        [("6m", "InvolutionCanaryErrorRateSpike", [])],
    )
    test_file = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [wrong]}
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(test_file))
    result = subprocess.run(
        [promtool(), "test", "rules", "tests.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "InvolutionCanaryErrorRateSpike" in result.stdout + result.stderr
