"""Bad input fails before any resource is registered, with one message naming key, value and
what is allowed."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from harness import mockrun
from harness.mockrun import MOCK_SECRET, load_stack_config
from involution.errors import ConfigError
from tests.conftest import NOW, TEST_ALERTING, VALID_APPROVAL, run_scenario

pytestmark = pytest.mark.unit

EXPIRED = {**VALID_APPROVAL, "expiresAt": "2026-11-01T00:00:00Z"}
ALL_PASSED = {
    name: "passed"
    for name in ("codeQuality", "unitTests", "integrationTests", "accuracy", "security")
}

# (stack, overrides, key named in the message, value shown, words of what is allowed)
BAD_INPUT: list[tuple[str, dict[str, Any], str, str, str]] = [
    (
        "dev",
        {"canaryVersion": "v1.3.0", "canaryPhase": "25"},
        "canaryPhase",
        "'25'",
        "none, shadow, 10, 50, 100, rollback",
    ),
    ("dev", {"canaryPhase": "ten"}, "canaryPhase", "'ten'", "none, shadow, 10, 50, 100, rollback"),
    ("dev", {"stableVersion": "latest"}, "stableVersion", "'latest'", "semver tag"),
    ("dev", {"traffic": {"override": "yes"}}, "traffic.override", "'yes'", "true or false"),
    (
        "dev",
        {"traffic": {"overrideHeader": "X_Track"}},
        "traffic.overrideHeader",
        "'X_Track'",
        "an HTTP header name",
    ),
    (
        "dev",
        {"traffic": {"stickyBy": "header:"}},
        "traffic.stickyBy",
        "'header:'",
        "none, ip, header:<Name>",
    ),
    (
        "dev",
        {"traffic": {"stickyBy": "session"}},
        "traffic.stickyBy",
        "'session'",
        "cookie:<name>",
    ),
    ("dev", {"traffic": {"mirrorPercent": 0}}, "traffic.mirrorPercent", "0", ">= 1 and <= 100"),
    ("dev", {"traffic": {"mirrorPercent": 12.5}}, "traffic.mirrorPercent", "12.5", "1..100"),
    ("dev", {"traffic": {"weights": 3}}, "traffic.weights", "3", "a field of traffic"),
    ("dev", {"stableVersion": "1.2.3"}, "stableVersion", "'1.2.3'", "semver tag"),
    (
        "dev",
        {"canaryVersion": "v1.3", "canaryPhase": "10"},
        "canaryVersion",
        "'v1.3'",
        "semver tag",
    ),
    (
        "dev",
        {"canaryVersion": "latest", "canaryPhase": "10"},
        "canaryVersion",
        "'latest'",
        "semver tag",
    ),
    (
        "dev",
        {"canaryVersion": "v1.2.2", "canaryPhase": "10"},
        "canaryVersion",
        "'v1.2.2'",
        "newer than stableVersion v1.2.2",
    ),
    (
        "dev",
        {"canaryVersion": "v1.1.9", "canaryPhase": "50"},
        "canaryVersion",
        "'v1.1.9'",
        "newer than stableVersion",
    ),
    ("dev", {"canaryPhase": "10"}, "canaryPhase", "'10'", "unless canaryVersion is set"),
    (
        "dev",
        {"canaryPhase": "rollback"},
        "canaryPhase",
        "'rollback'",
        "unless canaryVersion is set",
    ),
    (
        "production",
        {"stableVersion": "v1.3.0-rc.1"},
        "stableVersion",
        "'v1.3.0-rc.1'",
        "pre-releases never reach production",
    ),
    (
        "production",
        {"canaryVersion": "v1.3.0-beta.2", "canaryPhase": "10", "approval": VALID_APPROVAL},
        "canaryVersion",
        "'v1.3.0-beta.2'",
        "pre-releases never reach production",
    ),
    (
        "production",
        {"canaryVersion": "v1.3.0", "canaryPhase": "10"},
        "approval",
        "<unset>",
        "required in production for a minor canary",
    ),
    (
        "production",
        {"canaryVersion": "v2.0.0", "canaryPhase": "50"},
        "approval",
        "<unset>",
        "required in production for a major canary",
    ),
    (
        "production",
        {"canaryVersion": "v1.3.0", "canaryPhase": "10", "approval": EXPIRED},
        "approval.expiresAt",
        "'2026-11-01T00:00:00+00:00'",
        "the approval has expired",
    ),
    (
        "production",
        {
            "canaryVersion": "v2.0.0",
            "canaryPhase": "10",
            "approval": {**VALID_APPROVAL, "approvedBy": "ana.release"},
        },
        "approval.approvedBy",
        "['ana.release']",
        "at least 2 distinct approvers",
    ),
    (
        "production",
        {
            "canaryVersion": "v1.3.0",
            "canaryPhase": "10",
            "approval": {**VALID_APPROVAL, "expiresAt": "next tuesday"},
        },
        "approval.expiresAt",
        "'next tuesday'",
        "ISO-8601",
    ),
    (
        "production",
        {
            "canaryVersion": "v1.3.0",
            "canaryPhase": "10",
            "approval": {**VALID_APPROVAL, "ticket": ""},
        },
        "approval.ticket",
        "''",
        "ticket id",
    ),
    (
        "production",
        {"gates": {**ALL_PASSED, "apiContract": "failed"}},
        "gates.apiContract",
        "'failed'",
        "passed all six quality gates",
    ),
    (
        "production",
        {"gates": ALL_PASSED},
        "gates.apiContract",
        "<unset>",
        "passed all six quality gates",
    ),
    ("production", {"gates": None}, "gates", "<unset>", "required in production"),
    ("dev", {"gates": {"security": "skipped"}}, "gates.security", "'skipped'", "passed or failed"),
    ("dev", {"gates": {"lint": "passed"}}, "gates.lint", "'passed'", "one of the gates"),
    ("dev", {"gates": "passed"}, "gates", "'passed'", "an object"),
    ("dev", {"engineReplicas": "0"}, "engineReplicas", "'0'", "an integer >= 1"),
    ("dev", {"engineReplicas": "-3"}, "engineReplicas", "'-3'", "an integer >= 1"),
    ("dev", {"engineReplicas": "two"}, "engineReplicas", "'two'", "an integer >= 1"),
    ("staging", {"routerReplicas": "1"}, "routerReplicas", "'1'", "single point of failure"),
    ("dev", {"environment": "prod"}, "environment", "'prod'", "dev, staging, production"),
    ("dev", {"namespace": "Involution_NS"}, "namespace", "'Involution_NS'", "DNS-1123"),
    (
        "dev",
        {"imageRepository": "registry.example.com/engine:v1"},
        "imageRepository",
        "'registry.example.com/engine:v1'",
        "without tag or digest",
    ),
    ("dev", {"nginxImage": "nginx:latest"}, "nginxImage", "'nginx:latest'", "pinned"),
    ("dev", {"nginxImage": "nginx"}, "nginxImage", "'nginx'", "pinned"),
    ("dev", {"canaryPhse": "10"}, "canaryPhse", "'10'", "did you mean `canaryPhase`"),
    ("dev", {"stableVersion": None}, "stableVersion", "<unset>", "required"),
    # Issue 5: thresholds, metric names, secrets.
    (
        "dev",
        {"monitoring": {"errorRatePercent": -1}},
        "monitoring.errorRatePercent",
        "-1",
        "a number > 0 and <= 100 (percent)",
    ),
    (
        "dev",
        {"monitoring": {"errorRateSpikePercent": 150}},
        "monitoring.errorRateSpikePercent",
        "150",
        "<= 100",
    ),
    (
        "dev",
        {"monitoring": {"errorRateIncreasePoints": "lots"}},
        "monitoring.errorRateIncreasePoints",
        "'lots'",
        "a number",
    ),
    (
        "dev",
        {"monitoring": {"latencyMs": 0}},
        "monitoring.latencyMs",
        "0",
        "a number > 0 (milliseconds)",
    ),
    (
        "dev",
        {"monitoring": {"healthFailureMinutes": -5}},
        "monitoring.healthFailureMinutes",
        "-5",
        "a number > 0 (minutes)",
    ),
    (
        "dev",
        {"monitoring": {"latencyQuantile": 1.5}},
        "monitoring.latencyQuantile",
        "1.5",
        "<= 0.999",
    ),
    (
        "dev",
        {"monitoring": {"requestsMetric": "http-requests"}},
        "monitoring.requestsMetric",
        "'http-requests'",
        "Prometheus metric name",
    ),
    (
        "dev",
        {"monitoring": {"requestsMetric": "http_requests"}},
        "monitoring.requestsMetric",
        "'http_requests'",
        "ending in _total",
    ),
    (
        "dev",
        {"monitoring": {"latencyMetric": "http_duration_seconds_bucket"}},
        "monitoring.latencyMetric",
        "'http_duration_seconds_bucket'",
        "without _bucket",
    ),
    (
        "dev",
        {"monitoring": {"latencyMetric": "1http_seconds"}},
        "monitoring.latencyMetric",
        "'1http_seconds'",
        "Prometheus metric name",
    ),
    ("dev", {"monitoring": {"errorRate": 1}}, "monitoring.errorRate", "1", "a field of monitoring"),
    (
        "production",
        {"network": {"monitoringNamespace": "Monitoring"}},
        "network.monitoringNamespace",
        "'Monitoring'",
        "a namespace name",
    ),
    (
        "dev",
        {"network": {"engineEgress": [{"cidr": "10.0.0.0/33", "port": 443}]}},
        "network.engineEgress",
        "[{'cidr': '10.0.0.0/33', 'port': 443}]",
        "a list of {cidr, port}",
    ),
    (
        "dev",
        {"network": {"monitoringPodLabels": {"app": "bad value!"}}},
        "network.monitoringPodLabels",
        "{'app': 'bad value!'}",
        "an object of Kubernetes label keys and values",
    ),
    (
        "dev",
        {"network": {"denyEgress": "sometimes"}},
        "network.denyEgress",
        "'sometimes'",
        "true or false",
    ),
    (
        "dev",
        {"resources": {"engine": {"requests": {"cpu": "lots"}}}},
        "resources.engine.requests.cpu",
        "'lots'",
        "a CPU quantity greater than 0, e.g. 250m",
    ),
    (
        "dev",
        {"resources": {"router": {"limits": {"memory": "0"}}}},
        "resources.router.limits.memory",
        "'0'",
        "a memory quantity greater than 0",
    ),
    (
        "dev",
        {"resources": {"engine": {"requests": {"cpu": "2"}}}},
        "resources.engine.requests.cpu",
        "'2'",
        "a cpu request (2) at most its limit (1)",
    ),
    (
        "dev",
        {"resources": {"router": {"limits": {"memory": "32Mi"}}}},
        "resources.router.limits.memory",
        "'32Mi'",
        "a memory request (64Mi) at most its limit (32Mi)",
    ),
    (
        "dev",
        {"resources": {"redis": {"requests": {"cpu": "1"}}}},
        "resources.redis",
        "{'requests': {'cpu': '1'}}",
        "a field of resources: engine, router, timeResolver",
    ),
    (
        "dev",
        {"resources": {"timeResolver": {"requests": {"gpu": "1"}}}},
        "resources.timeResolver.requests.gpu",
        "'1'",
        "a field of resources.timeResolver.requests: cpu, memory",
    ),
    (
        "dev",
        {"resources": {"engine": "small"}},
        "resources.engine",
        "'small'",
        "an object of requests, limits",
    ),
    ("dev", {"soak": {"10": "1 day"}}, "soak.10", "'1 day'", "a duration such as 24h"),
    ("production", {"soak": {"50": "1h"}}, "soak.50", "'1h'", "at least 1d in production"),
    ("dev", {"promoteFrom": "dev"}, "promoteFrom", "'dev'", "the name of another stack"),
    (
        "production",
        {"releaseOverride": {"reason": "x", "approvedBy": "ana"}},
        "releaseOverride.ticket",
        "<unset>",
        "required in production",
    ),
    (
        "dev",
        {"monitoring": {"prometheusUrl": "ftp://prometheus:9090"}},
        "monitoring.prometheusUrl",
        "'ftp://prometheus:9090'",
        "an http:// or https:// base URL",
    ),
    (
        "dev",
        {"monitoring": {"prometheusUrl": "http://prometheus:90x0"}},
        "monitoring.prometheusUrl",
        "'http://prometheus:90x0'",
        "an http:// or https:// base URL",
    ),
    (
        "production",
        {"redisPassword": None},
        "redisPassword",
        "<unset>",
        "required in production: pulumi config set --secret",
    ),
    ("staging", {"redisPassword": None}, "redisPassword", "<unset>", "required in staging"),
    (
        "production",
        {"alerting": None},
        "alerting.pagerdutyRoutingKey",
        "<unset>",
        "required in production",
    ),
    (
        "production",
        {"alerting": {**TEST_ALERTING, "slackWebhookUrl": ""}},
        "alerting.slackWebhookUrl",
        "<unset>",
        "--secret involution:alerting.slackWebhookUrl",
    ),
    (
        "production",
        {"alerting": {**TEST_ALERTING, "slackWebhookUrl": "http://insecure"}},
        "alerting.slackWebhookUrl",
        "[secret]",
        "an https:// webhook URL",
    ),
    (
        "staging",
        {"alerting": {"emailTo": "not-an-address"}},
        "alerting.emailTo",
        "'not-an-address'",
        "an email address",
    ),
    (
        "dev",
        {"redisEvictionPolicy": "noeviction"},
        "redisEvictionPolicy",
        "'noeviction'",
        "fit for a cache",
    ),
    ("dev", {"redisMaxMemoryMb": "8"}, "redisMaxMemoryMb", "'8'", ">= 16"),
    ("dev", {"redisImage": "redis:latest"}, "redisImage", "'redis:latest'", "pinned"),
    (
        "staging",
        {"imageBuild": {"registry": "r.example.com"}},
        "imageBuild.context",
        "<unset>",
        "required when imageBuild is set",
    ),
    (
        "staging",
        {"imageBuild": {"context": ".", "username": "bot"}},
        "imageBuild.password",
        "<unset>",
        "username and password go together",
    ),
    (
        "production",
        {
            "canaryVersion": "v1.3.0",
            "canaryPhase": "10",
            "approval": {**VALID_APPROVAL, "ticket": "see slack"},
        },
        "approval.ticket",
        "'see slack'",
        "a change ticket id such as CHG-2041",
    ),
    ("staging", {"namespace": "default"}, "namespace", "'default'", "a namespace of its own"),
    ("dev", {"namespace": "kube-system"}, "namespace", "'kube-system'", "a namespace of its own"),
    ("dev", {"kubernetesVersion": "1.19"}, "kubernetesVersion", "'1.19'", "1.25 or later"),
    ("dev", {"kubernetesVersion": "latest"}, "kubernetesVersion", "'latest'", "1.25 or later"),
    (
        "production",
        {"freeze": "Fri 16:00 - Mon 08:00 CET+1"},
        "freeze",
        "'Fri 16:00 - Mon 08:00 CET+1'",
        "an IANA time zone name such as Europe/Berlin",
    ),
    (
        "dev",
        {
            "freeze": [
                {"from": "2026-12-23 00:00", "to": "2027-01-04T08:00:00+01:00", "reason": "x"}
            ]
        },
        "freeze[0]",
        "{'from': '2026-12-23 00:00', 'to': '2027-01-04T08:00:00+01:00', 'reason': 'x'}",
        "`from` as an RFC 3339 time with its offset",
    ),
    (
        "dev",
        {"freeze": [{"weekly": "Fri 16:00 - Mon 08:00 Europe/Berlin"}]},
        "freeze[0]",
        "{'weekly': 'Fri 16:00 - Mon 08:00 Europe/Berlin'}",
        "a `reason` (every refusal shows it)",
    ),
    ("dev", {"freeze": {"weekends": True}}, "freeze", "{'weekends': True}", "a `reason`"),
]


@pytest.mark.parametrize(
    ("stack", "overrides", "key", "value", "allowed"),
    BAD_INPUT,
    ids=[f"{case[0]}-{case[2]}-{i}" for i, case in enumerate(BAD_INPUT)],
)
def test_bad_input_fails_before_any_resource(
    stack: str,
    overrides: dict[str, Any],
    key: str,
    value: str,
    allowed: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registered: list[str] = []
    original = mockrun.RecordingMocks.new_resource

    def spy(self: Any, args: Any) -> Any:
        if args.typ != mockrun.STACK_REFERENCE:  # reading what the stack deployed is no change
            registered.append(args.name)
        return original(self, args)

    monkeypatch.setattr(mockrun.RecordingMocks, "new_resource", spy)
    with pytest.raises(ConfigError) as raised:
        run_scenario(stack, overrides)
    assert registered == []
    error = raised.value
    assert isinstance(error, pulumi.RunError)  # printed by the engine without a traceback
    line = f"involution:{key} = {value}: "
    matching = [p for p in error.problems if p.describe().startswith(line)]
    assert matching, f"{line!r} not in {error}"
    assert allowed in matching[0].describe()
    assert line in str(error)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        run_scenario(
            "production",
            {"canaryVersion": "v1.3.0", "canaryPhase": "25", "engineReplicas": "0"},
            now=NOW,
        )
    keys = {p.key for p in raised.value.problems}
    assert {"canaryPhase", "engineReplicas"} <= keys
    assert str(raised.value).count("involution:") == len(raised.value.problems)


def test_secret_values_never_appear_in_errors() -> None:
    with pytest.raises(ConfigError) as nested:
        run_scenario(
            "production",
            {"alerting": {**TEST_ALERTING, "pagerdutyRoutingKey": "pd-key-7731", "bogus": "x"}},
        )
    assert "pd-key-7731" not in str(nested.value)
    with pytest.raises(ConfigError) as raised:
        run_scenario("dev", {"redisPasword": "hunter2-s3cret"})
    assert "did you mean `redisPassword`" in str(raised.value)
    # An unknown key's value is shown; a known secret key's is not.
    from involution.settings import parse_settings

    with pytest.raises(ConfigError) as secret_raised:
        parse_settings(
            {"stableVersion": "v1.2.2", "redisPassword": "hunter2-s3cret", "bogus": "x"},
            stack="dev",
        )
    assert "hunter2" not in str(secret_raised.value)


def test_rollback_is_never_blocked_by_release_checks() -> None:
    # Expired approval and a failed gate: the canary may not take traffic, but rolling it back
    # must still work, in production too.
    overrides = {
        "canaryVersion": "v1.3.0",
        "canaryPhase": "rollback",
        "approval": EXPIRED,
        "gates": {**ALL_PASSED, "apiContract": "failed"},
    }
    run = run_scenario("production", overrides)
    assert run.outputs["phase"] == "rollback"
    assert run.outputs["canaryWeight"] == 0


def test_outside_production_release_checks_warn() -> None:
    from involution.release.checks import check_release
    from involution.settings import parse_settings

    settings = parse_settings(
        {
            "stableVersion": "v1.2.2",
            "canaryVersion": "v1.3.0",
            "canaryPhase": "10",
            "approval": '{"approvedBy": "a", "ticket": "T-1", "expiresAt": "2020-01-01T00:00:00Z"}',
            "gates": '{"security": "failed"}',
        },
        stack="staging",
    )
    warnings = check_release(settings, None, now=NOW).warnings
    assert any("approval has expired" in w for w in warnings)
    assert any("security" in w for w in warnings)


def test_patch_canary_needs_no_approval_in_production() -> None:
    run = run_scenario("production", {"canaryVersion": "v1.2.3", "canaryPhase": "10"})
    assert run.outputs["releaseType"] == "patch"


def test_encrypted_values_become_a_placeholder(tmp_path: Any) -> None:
    (tmp_path / "Pulumi.x.yaml").write_text(
        "config:\n  involution:redisPassword:\n    secure: AAABAxyz\n"
        "  involution:engineReplicas: 3\n  involution:gates:\n    security: passed\n"
        "  other:key: ignored\n"
    )
    raw = load_stack_config("x", tmp_path)
    assert raw == {
        "redisPassword": MOCK_SECRET,
        "engineReplicas": "3",
        "gates": '{"security": "passed"}',
    }


def test_traffic_defaults_by_environment() -> None:
    """The header override is on in dev and staging, off in production; the rest is today's
    plain split."""
    from involution.config.traffic import DEFAULT_OVERRIDE_HEADER, StickyKey
    from involution.settings import parse_settings

    for environment, override in (("dev", True), ("staging", True), ("production", False)):
        raw = {"stableVersion": "v1.2.2", "environment": environment}
        if environment != "dev":
            raw["redisPassword"] = "x"
        if environment == "production":
            raw["alerting"] = json.dumps(TEST_ALERTING)
        traffic = parse_settings(raw, stack=environment).traffic
        assert traffic.override is override, environment
        assert traffic.override_header == DEFAULT_OVERRIDE_HEADER
        assert traffic.sticky == StickyKey() and traffic.mirror_percent == 100
    traffic = parse_settings(
        {
            "stableVersion": "v1.2.2",
            "traffic": '{"stickyBy": "cookie:session_id", "mirrorPercent": 25, "override": false}',
        },
        stack="dev",
    ).traffic
    assert traffic.sticky.variable == "$cookie_session_id"
    assert traffic.mirror_percent == 25 and not traffic.override
