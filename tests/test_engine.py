"""The real engine: `pulumi up` of the dev stack in render mode, a whole release walked with
`pulumi config set` + `pulumi up` and `involution` (the recorded walk of tests/dev_walk.py),
and bad config stopped with the program's own message."""

from __future__ import annotations

import json

import pytest

from harness.engine.project import EngineProject
from harness.paths import PROJECT_DIR
from tests.conftest import TEST_ALERTING, TEST_REDIS_PASSWORD
from tests.dev_walk import Walk
from tests.engine_stacks import Deployed
from tests.nginx_parse import upstream_weights

pytestmark = pytest.mark.engine

RENDERED = "rendered/dev"
STABLE, CANARY = "engine-stable:8080", "engine-canary:8080"


def weights(project: EngineProject) -> dict[str, int]:
    return upstream_weights(project.rendered_nginx_conf(RENDERED))


def test_dev_stack_deploys_in_render_mode_and_a_second_up_changes_nothing(
    deployed_dev: Deployed,
) -> None:
    project = deployed_dev.project
    assert "created" in deployed_dev.first_up
    kinds = {d["kind"] for d in project.rendered(RENDERED)}
    assert {"Namespace", "Deployment", "Service", "ConfigMap", "NetworkPolicy"} <= kinds
    assert {"PrometheusRule", "ServiceMonitor"} <= kinds
    assert weights(project) == {"engine-stable:8080": 100}
    second = project.up("dev")
    assert "unchanged" in second.stdout
    assert " created" not in second.stdout and " updated" not in second.stdout
    no_changes = project.pulumi("preview", "--expect-no-changes", "--stack", "dev", check=False)
    assert no_changes.returncode == 0, no_changes.stdout + no_changes.stderr


def test_the_language_host_asks_the_venvs_python_for_its_version(deployed_dev: Deployed) -> None:
    """The host runs the first `python3` on PATH at start: the venv's, as scripts/pulumi.sh
    orders PATH, not a version manager's shim (pyenv's starts ~40 processes per `up`)."""
    about = deployed_dev.project.pulumi("about", "--stack", "dev").stdout
    venv_bin = PROJECT_DIR / "venv" / "bin"
    assert f"executable='{venv_bin}/python3'" in about, about


def test_the_language_host_names_the_providers_of_the_venvs_packages(
    deployed_dev: Deployed,
) -> None:
    """The host's GetRequiredPlugins reads the venv's Pulumi packages with our package list
    (scripts/bootstrap_engine.sh, in place of `pip list`): each provider SDK pinned in
    requirements.txt brings its plugin at the SDK's version, and nothing else is required."""
    about = json.loads(deployed_dev.project.pulumi("about", "--json", "--stack", "dev").stdout)
    required = {(p["name"], p["version"]) for p in about["plugins"] if p["kind"] == "resource"}
    pinned = dict(
        line.split("==", 1)
        for line in (PROJECT_DIR / "requirements.txt").read_text().splitlines()
        if line.startswith("pulumi-") and "==" in line
    )
    expected = {(name.removeprefix("pulumi-"), pin.split()[0]) for name, pin in pinned.items()}
    assert required == expected, about["plugins"]


def test_the_engine_refuses_a_plaintext_value_that_looks_like_a_secret(
    deployed_dev: Deployed,
) -> None:
    """The CLI's own guard (zxcvbn-go, whose word lists scripts/bootstrap_engine.sh loads on
    first use rather than at every start): a password-like value under a password-like key
    is refused unless set with --secret, and nothing reaches the stack file."""
    project = deployed_dev.project
    value = "Xq7#kP2!vL9@wZ4m"
    refused = project.pulumi(
        "config", "set", "--stack", "dev", "involution:redisPassword", value, check=False
    )
    assert refused.returncode != 0
    assert "looks like a secret" in refused.stdout + refused.stderr
    assert value not in (project.root / "Pulumi.dev.yaml").read_text()
    # English words are guessable by the word lists (without them, 16 letters would score 75
    # bits and be refused too): set as asked.
    words = "correcthorsebatterystaple"
    project.pulumi("config", "set", "--stack", "dev", "involution:redisPassword", words)
    assert f"involution:redisPassword: {words}" in (project.root / "Pulumi.dev.yaml").read_text()


# The recorded walk's steps that change what is deployed, and the upstream each leaves.
WALK_WEIGHTS = {
    "first up": {STABLE: 100},
    "start": {STABLE: 90, CANARY: 10},
    "50 by config": {STABLE: 50, CANARY: 50},
    "advance to 100": {CANARY: 100},
    "staged rollback": {STABLE: 50, CANARY: 50},
    "advance to 100 again": {CANARY: 100},
    # Promotion: the canary's version becomes stable, the canary goes away.
    "promote": {STABLE: 100},
    "next canary at 10": {STABLE: 90, CANARY: 10},
    "rollback": {STABLE: 100},
    "close": {STABLE: 100},
    "patch": {STABLE: 100},
}
WALK_PHASES = {
    "start": "10",
    "50 by config": "50",
    "advance to 100": "100",
    "staged rollback": "50",
    "promote": "none",
    "next canary at 10": "10",
    "rollback": "rollback",
    "close": "none",
}


def test_a_release_walks_forward_is_promoted_and_the_next_one_rolls_back(
    walked_dev: Walk,
) -> None:
    for name, expected in WALK_WEIGHTS.items():
        step = walked_dev.step(name)
        assert step.code == 0, step.output
        assert upstream_weights(step.nginx_conf) == expected, name
        assert step.outputs["phase"] == WALK_PHASES.get(name, step.outputs["phase"]), name
    refused = walked_dev.step("100 refused")
    assert refused.code != 0 and "the release path refuses this step" in refused.output
    assert refused.outputs == walked_dev.step("next canary at 10").outputs  # nothing changed
    rolled_back = walked_dev.step("rollback")
    outputs = rolled_back.outputs
    assert outputs["stableVersion"] == "v1.3.0"
    assert outputs["canaryVersion"] == "v1.4.0"
    assert outputs["canaryReplicas"] == 0
    deployments = rolled_back.deployments
    assert deployments["engine-canary"]["spec"]["replicas"] == 0
    stable_image = deployments["engine-stable"]["spec"]["template"]["spec"]["containers"][0]
    assert stable_image["image"] == "involution-engine:v1.3.0"
    assert walked_dev.step("patch").outputs["stableVersion"] == "v1.3.1"
    updates = walked_dev.updates()
    assert len(updates) == len(WALK_WEIGHTS) + 1  # and the refused one
    assert [u["result"] for u in updates].count("failed") == 1


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "canaryPhase",
            "25",
            "involution:canaryPhase = '25': one of none, shadow, 10, 50, 100, rollback",
        ),
        ("stableVersion", "latest", "involution:stableVersion = 'latest': a semver tag"),
        ("canaryVersion", "v1.0.0", "involution:canaryVersion = 'v1.0.0': a version newer than"),
    ],
)
def test_bad_config_fails_preview_with_the_programs_message(
    engine_project: EngineProject, key: str, value: str, message: str
) -> None:
    project = engine_project
    project.init_stack("dev")
    project.set("dev", key, value)
    if key == "canaryVersion":
        project.set("dev", "canaryPhase", "10")
    result = project.pulumi("preview", "--stack", "dev", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in output
    assert "Traceback" not in output
    assert "created" not in output


def render_mode(project: EngineProject, stack: str) -> None:
    """A staging or production stack pointed at a folder instead of its cluster."""
    project.init_stack(stack, {"renderDirectory": f"rendered/{stack}", "kubeContext": ""})
    alerting = TEST_ALERTING if stack == "production" else {}
    project.with_secrets(stack, TEST_REDIS_PASSWORD, alerting)


@pytest.mark.parametrize("stack", ["dev", "staging", "production"])
def test_preview_with_the_policy_pack_passes(engine_project: EngineProject, stack: str) -> None:
    project = engine_project
    if stack == "dev":
        project.init_stack("dev")
    else:
        render_mode(project, stack)
    result = project.preview_with_policies(stack, stack)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "mandatory" not in output
    assert "advisory" not in output  # not even a recommendation left
    # The pack really ran: the engine reports it by name and version.
    assert "involution-release@v0.1.0" in output


def test_preview_fails_on_a_mandatory_policy_naming_it(engine_project: EngineProject) -> None:
    """Two engine pods pass the program's own checks but not production's minimum of three."""
    project = engine_project
    render_mode(project, "production")
    project.set("production", "engineReplicas", "2")
    result = project.preview_with_policies("production", "production")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "involution-release@v0.1.0" in output
    assert "[mandatory]  minimum-replicas" in output
