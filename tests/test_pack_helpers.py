"""The policy pack's pure helpers, in process (no gRPC), the way pulumi-policy-aws tests its
validators: secret names and credentials, the nginx tokenizer and `split_weights`, image
references, the readers of the engine's data shapes and the policy config."""

from __future__ import annotations

import re
import runpy
from datetime import UTC, datetime
from typing import Any

import pytest
from involution_policies import POLICIES, approvals, images, nginx, props, redis, secrets, traffic
from involution_policies.config import Config, describe, string_list
from involution_policies.kube import (
    containers,
    kind_of,
    object_name,
    pod_spec,
    pod_template_annotations,
    pod_template_labels,
    release_info,
    replicas,
    selector_labels,
    selects,
    track_of,
    workload_spec,
)
from involution_policies.metadata import image_versions
from involution_policies.names import TICKET_PATTERN
from involution_policies.props import UNKNOWN
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

from harness.paths import PROJECT_DIR

pytestmark = pytest.mark.policy

DIGEST = "sha256:" + "0123456789abcdef" * 4
HOSTS = {"engine-stable": "stable", "engine-canary": "canary"}
PACK_DIR = PROJECT_DIR / "policies"


# ------------------------------------------------------------------ secret names -----


@pytest.mark.parametrize(
    "name",
    [
        "PASSWORD",
        "REDIS_PASSWORD",
        "db-passwd",
        "GPG_PASSPHRASE",
        "API_KEY",
        "SIGNING_KEY",
        "REDISCLI_AUTH",
        "GITHUB_TOKEN",
        "CLIENT_SECRET",
        "tls.key",
        "SSH_PRIVATE_KEY_DATA",
        "AWS_CREDENTIALS",
        "MYSQL_PWD",
        "password_value",  # PASSWORD anywhere but in a reference last word
    ],
)
def test_secret_names(name: str) -> None:
    assert secrets.is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "PASSWORD_FILE",
        "SECRET_NAME",
        "AWS_ACCESS_KEY_ID",
        "REDIS_KEY_PREFIX",
        "TOKEN_URL",
        "TOKEN_TTL",
        "API_KEY_HEADER",
        "AUTH_ENABLED",
        "KEYBOARD_LAYOUT",  # KEY only as a whole word
        "MONKEY",
        "LOG_LEVEL",
        "",
        "___",
    ],
)
def test_not_secret_names(name: str) -> None:
    assert not secrets.is_secret_name(name)


def test_extra_secret_words_extend_the_last_word_rule() -> None:
    assert not secrets.is_secret_name("SESSION_COOKIE")
    assert secrets.is_secret_name("SESSION_COOKIE", frozenset({"COOKIE"}))
    assert not secrets.is_secret_name("COOKIE_PATH", frozenset({"COOKIE"}))


# ------------------------------------------------------------------ credentials -----


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE...", "a private key"),
        ("-----BEGIN PRIVATE KEY-----", "a private key"),
        ("key id AKIAABCDEFGHIJKLMNOP here", "an AWS access key id"),
        ("aws_secret_access_key = wJalrXUtnFEMI", "an AWS secret access key"),
        ("xoxb-1234567890-abcdef", "a Slack token"),
        ("https://hooks.slack.com/services/T000/B000/XXXX", "a Slack webhook URL"),
        ("ghp_" + "a" * 36, "a GitHub token"),
        ("Authorization: Bearer abcdefghijklmnop1234", "a bearer token"),
        ("redis://user:hunter2@redis:6379/0", "a password inside a URL"),
        ("requirepass s3cret\n", "a Redis `requirepass` password"),
        ("  masterauth s3cret", "a Redis `masterauth` password"),
        ('{"token": "abc123"}', "a `token` value"),
        ("db_password=hunter2", "a `db_password` value"),
    ],
)
def test_credentials_are_found_by_content(value: str, what: str) -> None:
    assert secrets.credential_in(value) == what


@pytest.mark.parametrize(
    "value",
    [
        "requirepass ${REDIS_PASSWORD}",
        "requirepass $REDIS_PASSWORD",
        "password={{ .Values.password }}",
        "password=<set me>",
        "token: true",
        "password = null",
        "secret_name=involution-redis-auth",  # a reference name, not a secret
        "redis://redis:6379/0",  # no user info
        "redis://user:${PASSWORD}@redis:6379",  # placeholder in the URL
        "bearer short",  # too short for a token
        "maxmemory 64mb\nappendonly no",
        "",
    ],
)
def test_placeholders_and_plain_config_are_not_credentials(value: str) -> None:
    assert secrets.credential_in(value) is None


# ------------------------------------------------------------------ nginx -----


def test_tokenizer_words_quotes_comments_and_escapes() -> None:
    conf = "a \"b # c\" 'd\\'e' f; # comment\n{ g;}"
    assert list(nginx.tokens(conf)) == ["a", "b # c", "d'e", "f", ";", "{", "g", ";", "}"]


def test_tokenizer_rejects_an_unterminated_quote() -> None:
    with pytest.raises(nginx.NginxSyntaxError, match="unterminated"):
        list(nginx.tokens('return 200 "open'))


@pytest.mark.parametrize(
    ("conf", "error"),
    [
        (";", "empty directive"),
        ("{ }", "block without a directive name"),
        ("}", "unexpected }"),
        ("http { server", "unexpected end"),
        ("http { listen 80; ", "unexpected end"),
    ],
)
def test_parse_errors(conf: str, error: str) -> None:
    with pytest.raises(nginx.NginxSyntaxError, match=error):
        nginx.parse(conf)


def test_parse_nests_blocks() -> None:
    [http] = nginx.parse("http { upstream u { server a; } listen 80; }")
    assert http.name == "http" and http.block is not None
    assert [d.name for d in http.block] == ["upstream", "listen"]


def _upstream(*servers: str, name: str = "involution_engine") -> nginx.Upstream:
    lines = "".join(f"server {server};" for server in servers)
    [block] = nginx.upstreams(f"http {{ upstream {name} {{ zone z 64k; {lines} }} }}", name)
    return block


def test_upstreams_reads_servers_weights_flags_and_zone() -> None:
    conf = (
        "http { upstream other { server x; } upstream involution_engine { zone z 64k; "
        "server engine-stable:8080 weight=90 max_fails=3; server engine-canary:8080 weight=x down;"
        " } }"
    )
    [block] = nginx.upstreams(conf, "involution_engine")
    assert block.has_zone
    stable, canary = block.servers
    assert (stable.host, stable.weight, stable.weight_text, stable.flags) == (
        "engine-stable",
        90,
        "90",
        (),
    )
    assert (canary.weight, canary.weight_text, canary.flags) == (None, "x", ("down",))
    assert nginx.upstreams(conf, "missing") == []
    assert nginx.server_of(["unix:/tmp/sock"]).host == "unix"
    assert nginx.server_of(["engine-stable"]).host == "engine-stable"


def test_mentions_upstream_is_a_cheap_prefilter() -> None:
    assert nginx.mentions_upstream("upstream involution_engine {}", "involution_engine")
    assert not nginx.mentions_upstream("server { listen 80; }", "involution_engine")


def test_split_weights_of_a_canary_phase() -> None:
    split = nginx.split_weights(
        _upstream("engine-stable:8080 weight=90", "engine-canary:8080 weight=10"), HOSTS
    )
    assert split == nginx.Split({"stable": 90, "canary": 10}, (), complete=True)


def test_split_weights_a_missing_weight_is_not_nginx_default() -> None:
    split = nginx.split_weights(
        _upstream("engine-stable:8080", "engine-canary:8080 weight=10"), HOSTS
    )
    assert split.weights == {"canary": 10}
    assert not split.complete
    assert split.problems == (
        "server engine-stable:8080 has no weight (nginx would use 1): weights are explicit",
    )


def test_split_weights_backup_server_takes_no_share() -> None:
    upstream = _upstream("engine-canary:8080 weight=100", "engine-stable:8080 backup")
    split = nginx.split_weights(upstream, HOSTS)
    assert split == nginx.Split({"canary": 100}, (), complete=True)
    strict = nginx.split_weights(upstream, HOSTS, allow_backup=False)
    assert strict.problems == ("server engine-stable:8080 is a backup server",)
    assert strict.weights == {"canary": 100}


def test_split_weights_zero_weight_and_down_are_reported_but_counted() -> None:
    split = nginx.split_weights(
        _upstream("engine-stable:8080 weight=100", "engine-canary:8080 weight=0 down"), HOSTS
    )
    assert split.weights == {"stable": 100, "canary": 0}
    assert split.complete
    assert len(split.problems) == 2
    assert "weight=0, which nginx rejects" in split.problems[0]
    assert "is marked down" in split.problems[1]


def test_split_weights_duplicates_unknown_hosts_and_bad_numbers() -> None:
    split = nginx.split_weights(
        _upstream(
            "engine-stable:8080 weight=50",
            "engine-stable:8081 weight=40",
            "10.0.0.1:8080 weight=10",
            "engine-canary:8080 weight=ten",
        ),
        HOSTS,
    )
    assert split.weights == {"stable": 90}
    assert not split.complete
    assert split.problems == (
        "the stable track appears twice in involution_engine",
        "server 10.0.0.1:8080 is neither the stable nor the canary Service",
        "server engine-canary:8080 weight=ten is not a number",
    )


def test_split_weights_of_an_empty_upstream() -> None:
    split = nginx.split_weights(_upstream(), HOSTS)
    assert split == nginx.Split({}, ("upstream involution_engine has no server",), complete=False)


def test_upstream_problems_sum_and_allowed_weights() -> None:
    def problems(*servers: str) -> list[str]:
        lines = "".join(f"server {s};" for s in servers)
        conf = f"upstream involution_engine {{ {lines} }}"
        return traffic.upstream_problems(
            conf, HOSTS, [0, 10, 50, 100], "involution_engine", allow_backup=True
        )

    assert problems("engine-stable:8080 weight=90", "engine-canary:8080 weight=10") == []
    assert problems("engine-stable:8080 weight=80", "engine-canary:8080 weight=10") == [
        "stable + canary weights add up to 90, not 100 (canary=10, stable=80)"
    ]
    assert problems("engine-stable:8080 weight=75", "engine-canary:8080 weight=25") == [
        "canary weight 25 is not an allowed phase weight [0, 10, 50, 100]"
    ]
    assert traffic.upstream_problems(
        "upstream involution_engine { server", HOSTS, [0], "involution_engine", allow_backup=True
    ) == ["nginx.conf does not parse: unexpected end of config"]


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("none", 0),
        ("shadow", 0),
        ("rollback", 0),
        ("10", 10),
        ("50", 50),
        ("100", 100),
        ("25", None),
        ("0", None),
    ],
)
def test_expected_canary_weight(phase: str, expected: int | None) -> None:
    assert traffic.expected_canary_weight(phase, [0, 10, 50, 100]) == expected
    assert traffic.expected_canary_weight(None, [10]) is None


# ------------------------------------------------------------------ images -----


@pytest.mark.parametrize(
    ("image", "repository", "tag", "digest"),
    [
        ("involution-engine:v1.2.3", "involution-engine", "v1.2.3", None),
        ("nginx", "nginx", None, None),
        ("nginx:latest", "nginx", "latest", None),
        ("registry.example:5000/team/engine", "registry.example:5000/team/engine", None, None),
        ("registry.example:5000/engine:v1.0.0", "registry.example:5000/engine", "v1.0.0", None),
        (f"engine@{DIGEST}", "engine", None, DIGEST),
        (f"localhost:5000/engine:v2.0.0@{DIGEST}", "localhost:5000/engine", "v2.0.0", DIGEST),
        ("engine:", "engine", None, None),
    ],
)
def test_parse_image(image: str, repository: str, tag: str | None, digest: str | None) -> None:
    assert images.parse_image(image) == images.ImageRef(repository, tag, digest)


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("engine:v1.2.3", True),
        ("engine:1.27.3-alpine", True),
        ("engine:v1.3.0-rc.1", True),  # pinned; no-prerelease-in-production judges it
        ("engine:latest", False),
        ("engine", False),
        ("registry.example:5000/engine", False),  # the port is not a tag
        ("engine:v1.2", False),
        ("engine:01.2.3", False),
        (f"engine@{DIGEST}", True),
        ("engine@sha256:abc", False),
        (f"engine@{DIGEST.upper()}", False),
        (None, False),
    ],
)
def test_is_pinned_image(image: Any, pinned: bool) -> None:
    assert images.is_pinned_image(image) is pinned


def test_image_problem_messages() -> None:
    pattern = re.compile(images.SEMVER_TAG)

    def problem(image: str, *, allow_digest: bool = True) -> str | None:
        return images.image_problem(image, pattern, {"latest"}, allow_digest=allow_digest)

    assert problem("engine:v1.0.0") is None
    assert problem(f"engine@{DIGEST}") is None
    assert problem("engine:LATEST") == "image 'engine:LATEST' uses the floating tag 'LATEST'"
    assert problem("engine") == "image 'engine' is untagged (pulls `latest`): pin a version tag"
    assert problem("registry:5000/engine") is not None
    assert problem("engine:main") == "image 'engine:main': tag 'main' is not a semver tag"
    assert problem("engine@sha256:zz") == "image 'engine@sha256:zz' has a malformed digest"
    assert "a tag is required" in (problem(f"engine@{DIGEST}", allow_digest=False) or "")


@pytest.mark.parametrize(
    ("tag", "marker"),
    [
        ("v1.3.0-rc.1", "rc"),
        ("v1.3.0-beta2", "beta2"),
        ("1.0.0.alpha", "alpha"),
        ("v2.0.0-nightly-20261101", "nightly"),
        ("1.27.3-alpine", None),
        ("v1.2.3", None),
        ("latest", None),
    ],
)
def test_prerelease_marker(tag: str, marker: str | None) -> None:
    assert images.prerelease_marker(tag, set(images.PRERELEASE_MARKERS)) == marker


def test_prerelease_versions() -> None:
    assert images.is_prerelease_version("v1.3.0-rc.1")
    assert not images.is_prerelease_version("v1.3.0")
    assert not images.is_prerelease_version("not-a-version")


def test_image_versions_for_the_version_label() -> None:
    pod = {"containers": [{"name": "a", "image": "engine:v1.2.0"}]}
    assert image_versions(pod, None) == {"v1.2.0"}
    digest_pod = {"containers": [{"name": "a", "image": f"engine@{DIGEST}"}]}
    assert image_versions(digest_pod, "v1.2.0") == {"v1.2.0"}
    assert image_versions(digest_pod, None) is None
    assert image_versions({"containers": [{"name": "a", "image": UNKNOWN}]}, None) is None


# ------------------------------------------------------------------ approvals -----

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_approvers_are_distinct_and_non_blank() -> None:
    assert approvals.approvers({"approvedBy": [" ana ", "ana", "", 3, "raj"]}) == ["ana", "raj"]
    assert approvals.approvers({"approvedBy": "ana"}) == ["ana"]
    assert approvals.approvers({"approvedBy": {"ana": True}}) == []
    assert approvals.approvers({}) == []


def test_approval_problems() -> None:
    good = {"approvedBy": ["ana", "raj"], "ticket": "CHG-2041", "expiresAt": "2026-11-30T18:00Z"}
    assert approvals.approval_problems(good, "x", 2, TICKET_PATTERN, NOW) == []
    bad = {"approvedBy": ["ana"], "ticket": "chg-1", "expiresAt": "2026-11-30T18:00:00"}
    assert approvals.approval_problems(bad, "x", 2, TICKET_PATTERN, NOW) == [
        "the x has 1 approver(s) (ana); 2 distinct approvers are required",
        "the approval of the x has no valid change ticket: 'chg-1'",
        "the approval of the x has no expiry with a time zone: '2026-11-30T18:00:00'",
    ]
    expired = {**good, "expiresAt": "2026-11-24T12:00:00+00:00"}
    [problem] = approvals.approval_problems(expired, "x", 1, TICKET_PATTERN, NOW)
    assert problem.startswith("the approval of the x expired at 2026-11-24T12:00:00+00:00")


def test_failing_gates() -> None:
    record = {"codeQuality": "passed", "security": "failed"}
    assert approvals.failing_gates(record, ["codeQuality", "security", "accuracy"]) == [
        "security=failed",
        "accuracy=unreported",
    ]


# ------------------------------------------------------------------ redis -----


def test_redis_service_detection() -> None:
    labels = {"app.kubernetes.io/name": "redis"}
    assert redis.is_redis_service({"spec": {"selector": labels}}, labels, [])
    assert redis.is_redis_service({"metadata": {"labels": labels}}, labels, [])
    assert redis.is_redis_service({"spec": {"ports": [{"port": 6379.0}]}}, {}, [6379])
    assert redis.is_redis_service({"spec": {"ports": [{"targetPort": "6379"}]}}, {}, [6379])
    assert not redis.is_redis_service({"spec": {"ports": [{"port": 8080}]}}, labels, [6379])


def test_redis_exposure() -> None:
    assert redis.exposure({"type": "ClusterIP", "ports": [{"port": 6379}]}) == []
    assert redis.exposure({"type": UNKNOWN_STRING_VALUE}) == []
    assert redis.exposure(
        {
            "type": "NodePort",
            "externalIPs": ["1.2.3.4"],
            "loadBalancerSourceRanges": ["0.0.0.0/0"],
            "ports": [{"port": 6379, "nodePort": 30079.0}],
        }
    ) == [
        "the Redis Service is type NodePort: only ClusterIP is allowed",
        "the Redis Service has externalIPs",
        "the Redis Service sets loadBalancerSourceRanges",
        "the Redis Service opens nodePort 30079",
    ]


@pytest.mark.parametrize(
    ("peer", "problem"),
    [
        ({"podSelector": {"matchLabels": {"app.kubernetes.io/name": "involution-engine"}}}, None),
        ({"ipBlock": {"cidr": "0.0.0.0/0"}}, "admits an ipBlock"),
        ({"namespaceSelector": {}}, "admits pods of other namespaces"),
        ({"podSelector": {}}, "admits every pod of the namespace"),
        (
            {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "debug"}}},
            "admits {'app.kubernetes.io/name': 'debug'}, not one of ['involution-engine']",
        ),
        ({"podSelector": {"matchExpressions": [{"key": "a"}]}}, None),
        ("not a peer", None),
    ],
)
def test_network_policy_peers(peer: Any, problem: str | None) -> None:
    assert redis.peer_problem(peer, ["involution-engine"]) == problem


# ------------------------------------------------------------------ props -----


def test_props_read_through_the_unknown_checking_proxy() -> None:
    value = unknown_checking_proxy(
        {"a": {"b": [1.0, UNKNOWN_NUMBER_VALUE]}, "s": UNKNOWN_STRING_VALUE, "n": "3"}
    )
    assert props.get(value, "a", "b", 0) == 1.0
    assert props.get(value, "a", "b", 1) is UNKNOWN
    assert props.get(value, "a", "b", 5) is None
    assert props.get(value, "a", "b", -1) is UNKNOWN
    assert props.get(value, "s", "deeper") is UNKNOWN
    assert props.get(value, "missing", "x") is None
    assert props.get(value, "a", 0) is None
    assert props.elements(props.get(value, "a", "b")) == [1.0, UNKNOWN]
    assert props.elements("not a list") == []
    assert dict(props.entries(value))["s"] is UNKNOWN
    assert props.entries([1]) == []
    assert props.plain(value) == {"a": {"b": [1, UNKNOWN]}, "s": UNKNOWN, "n": "3"}
    assert props.mapping(value) is value and props.mapping([]) is None


@pytest.mark.parametrize(
    ("raw", "number"),
    [(3, 3), (3.0, 3), (" 4 ", 4), (2.5, None), (True, None), ("x", None), (None, None)],
)
def test_as_int(raw: Any, number: int | None) -> None:
    assert props.as_int(raw) == number


def test_text_string_map_json_and_time() -> None:
    assert props.text("a") == "a" and props.text(UNKNOWN_STRING_VALUE) is None
    assert props.string_map({"a": "1", "b": 2, "c": UNKNOWN_STRING_VALUE}) == {"a": "1"}
    assert props.json_value('{"a": 1}') == (True, {"a": 1})
    assert props.json_value("{") == (False, None)
    assert props.json_value(None) == (False, None)
    assert props.parse_time("2026-11-30T18:00:00Z") == datetime(2026, 11, 30, 18, tzinfo=UTC)
    assert props.parse_time("2026-11-30T18:00:00") is None  # naive
    assert props.parse_time("tomorrow") is None
    assert props.parse_time(" ") is None
    assert props.utc_now().tzinfo is UTC
    assert repr(UNKNOWN) == "<unknown>"


# ------------------------------------------------------------------ kube -----

DEPLOYMENT = {
    "metadata": {
        "name": "engine-canary",
        "namespace": "involution",
        "labels": {"app.kubernetes.io/name": "involution-engine"},
        "annotations": {"involution.dev/track": "canary", "involution.dev/phase": "10"},
    },
    "spec": {
        "template": {
            "metadata": {"labels": {"track": "canary"}, "annotations": {"a": "b"}},
            "spec": {
                "initContainers": [{"name": "init", "image": "busybox:1.36.1"}],
                "containers": [{"image": "engine:v1.3.0"}, UNKNOWN_STRING_VALUE],
            },
        }
    },
}


def test_kube_shapes() -> None:
    assert kind_of("kubernetes:apps/v1:Deployment") == "Deployment"
    assert kind_of("aws:s3/bucket:Bucket") is None
    assert object_name("Deployment", DEPLOYMENT, "x") == "Deployment involution/engine-canary"
    assert object_name("Namespace", {}, "ns") == "Namespace ns"
    assert pod_template_labels("Deployment", DEPLOYMENT) == {"track": "canary"}
    assert pod_template_labels("Service", DEPLOYMENT) == {}
    assert pod_template_annotations("Deployment", DEPLOYMENT) == {"a": "b"}
    assert pod_template_annotations("Pod", DEPLOYMENT) == {
        "involution.dev/track": "canary",
        "involution.dev/phase": "10",
    }
    assert pod_template_annotations("Service", DEPLOYMENT) == {}
    found = containers(pod_spec("Deployment", DEPLOYMENT))
    assert [(c.name, c.init) for c in found] == [("containers[0]", False), ("init", True)]
    assert found[1].label == 'init container "init"'
    assert containers(pod_spec("Deployment", DEPLOYMENT), include_init=False)[0].name == (
        "containers[0]"
    )
    assert workload_spec("kubernetes:core/v1:Service", {}) is None
    assert workload_spec("kubernetes:apps/v1:Deployment", {"spec": {}}) is None
    assert pod_spec("CronJob", {"spec": {"jobTemplate": {"spec": {"template": {"spec": 1}}}}}) == 1


def test_replicas_and_tracks() -> None:
    assert replicas({}) == 1
    assert replicas({"spec": {"replicas": 3.0}}) == 3
    assert replicas({"spec": {"replicas": UNKNOWN_NUMBER_VALUE}}) is UNKNOWN
    info = release_info(DEPLOYMENT)
    assert info is not None and (info.track, info.phase, info.version) == ("canary", "10", None)
    assert release_info({"metadata": {}}) is None
    assert track_of(DEPLOYMENT) == "canary"
    assert track_of({"metadata": {"labels": {"track": "stable"}}}) == "stable"
    assert track_of({}) is None


def test_selectors() -> None:
    assert selector_labels({"matchLabels": {"a": "1"}}) == {"a": "1"}
    assert selector_labels({"matchExpressions": [{"key": "a"}]}) is None
    assert selector_labels({"matchLabels": UNKNOWN_STRING_VALUE}) is None
    assert selector_labels(None) is None
    assert selects({"a": "1"}, {"a": "1", "b": "2"})
    assert not selects({"a": "1", "c": "3"}, {"a": "1"})
    assert selects({}, {"a": "1"})


# ------------------------------------------------------------------ config -----

SCHEMA: dict[str, dict[str, Any]] = {
    "n": {"type": "integer", "default": 2},
    "ns": {"type": "array", "default": [1, 2]},
    "s": {"type": "string", "default": "x"},
    "m": {"type": "object", "default": {"a": 1}},
    "sets": {"type": "array", "default": [{"a": "1"}, "junk"]},
    "when": {"type": "string", "default": ""},
}


def test_config_reads_defaults_and_engine_doubles() -> None:
    cfg = Config({"n": 3.0, "ns": [1.0, "x", 2], "s": None}, SCHEMA)
    assert cfg.integer("n") == 3
    assert cfg.integers("ns") == [1, 2]
    assert cfg.string("s") == "x"  # None falls back to the default
    assert cfg.strings("s") == []
    assert cfg.int_map("m") == {"a": 1}
    assert cfg.labels("m") == {"a": "1"}
    assert cfg.labels("s") == {}
    assert cfg.label_sets("sets") == [{"a": "1"}]
    assert cfg.label_sets("s") == []
    assert cfg.int_map("s") == {}
    assert not cfg.flag("when")
    assert Config({"when": "2026-11-24T12:00:00Z"}, SCHEMA).now("when") == NOW
    assert Config({}, SCHEMA).now("when").tzinfo is not None
    with pytest.raises(ValueError, match="must be an integer"):
        Config({"n": "two"}, SCHEMA).integer("n")


def test_describe_takes_the_first_paragraph_of_a_docstring() -> None:
    def check() -> None:
        """Enforces
        this.

        Because."""

    def bare() -> None:
        pass

    assert describe(check) == "Enforces this."
    with pytest.raises(ValueError, match="needs a docstring"):
        describe(bare)
    assert string_list("d", ("a",))["default"] == ["a"]


# ------------------------------------------------------------------ the pack -----


def test_main_assembles_every_domain_into_one_pack(monkeypatch: pytest.MonkeyPatch) -> None:
    """policies/__main__.py builds the PolicyPack from every domain, each policy once."""
    built: list[dict[str, Any]] = []
    monkeypatch.setattr("pulumi_policy.PolicyPack", lambda **kwargs: built.append(kwargs))
    runpy.run_path(str(PACK_DIR / "__main__.py"), run_name="__main__")
    [pack] = built
    assert pack["name"] == "involution-release"
    names = [policy.name for policy in pack["policies"]]
    assert names == [policy.name for policy in POLICIES]
    assert len(names) == len(set(names)) == 26
