"""The real engine: `pulumi up` of the dev stack in render mode, a whole release walked with
`pulumi config set` + `pulumi up`, and bad config stopped with the program's own message."""

from __future__ import annotations

import pytest

from harness.engine import EngineProject, history
from tests.conftest import TEST_ALERTING, TEST_REDIS_PASSWORD
from tests.nginx_parse import upstream_weights

pytestmark = pytest.mark.engine

RENDERED = "rendered/dev"


def weights(project: EngineProject) -> dict[str, int]:
    return upstream_weights(project.rendered_nginx_conf(RENDERED))


def test_dev_stack_deploys_in_render_mode_and_a_second_up_changes_nothing(
    engine_project: EngineProject,
) -> None:
    project = engine_project
    project.init_stack("dev")
    first = project.up("dev")
    assert "created" in first.stdout
    kinds = {d["kind"] for d in project.rendered(RENDERED)}
    assert {"Namespace", "Deployment", "Service", "ConfigMap", "NetworkPolicy"} <= kinds
    assert {"PrometheusRule", "ServiceMonitor"} <= kinds
    assert weights(project) == {"engine-stable:8080": 100}
    second = project.up("dev")
    assert "unchanged" in second.stdout
    assert " created" not in second.stdout and " updated" not in second.stdout
    no_changes = project.pulumi("preview", "--expect-no-changes", "--stack", "dev", check=False)
    assert no_changes.returncode == 0, no_changes.stdout + no_changes.stderr


def test_a_release_walks_forward_is_promoted_and_the_next_one_rolls_back(
    engine_project: EngineProject,
) -> None:
    project = engine_project
    project.init_stack("dev")
    project.up("dev")
    steps: list[tuple[dict[str, str | None], dict[str, int]]] = [
        (
            {"canaryVersion": "v1.3.0", "canaryPhase": "10"},
            {"engine-stable:8080": 90, "engine-canary:8080": 10},
        ),
        ({"canaryPhase": "50"}, {"engine-stable:8080": 50, "engine-canary:8080": 50}),
        ({"canaryPhase": "100"}, {"engine-canary:8080": 100}),
        # Promotion: the canary's version becomes stable, the canary goes away.
        (
            {"stableVersion": "v1.3.0", "canaryVersion": None, "canaryPhase": "none"},
            {"engine-stable:8080": 100},
        ),
        (
            {"canaryVersion": "v1.4.0", "canaryPhase": "10"},
            {"engine-stable:8080": 90, "engine-canary:8080": 10},
        ),
        ({"canaryPhase": "rollback"}, {"engine-stable:8080": 100}),
    ]
    for changes, expected in steps:
        for key, value in changes.items():
            if value is None:
                project.rm("dev", key)
            else:
                project.set("dev", key, value)
        project.up("dev")
        assert weights(project) == expected, changes
        outputs = project.outputs("dev")
        assert outputs["phase"] == changes.get("canaryPhase", outputs["phase"])
    outputs = project.outputs("dev")
    assert outputs["stableVersion"] == "v1.3.0"
    assert outputs["canaryVersion"] == "v1.4.0"
    assert outputs["canaryReplicas"] == 0
    deployments = {
        d["metadata"]["name"]: d for d in project.rendered(RENDERED) if d["kind"] == "Deployment"
    }
    assert deployments["engine-canary"]["spec"]["replicas"] == 0
    stable_image = deployments["engine-stable"]["spec"]["template"]["spec"]["containers"][0]
    assert stable_image["image"] == "involution-engine:v1.3.0"
    updates = [entry for entry in history(project, "dev") if entry["kind"] == "update"]
    assert len(updates) == 1 + len(steps)
    assert all(entry["result"] == "succeeded" for entry in updates)


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
