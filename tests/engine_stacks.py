"""The stacks the engine tests start from, each built once per run (harness.engine.templates)
and copied per test: what a test would otherwise repeat before its first assertion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.engine.project import EngineProject
from harness.scenarios import TEST_REDIS_PASSWORD


@dataclass
class Deployed:
    project: EngineProject
    first_up: str  # what the first `pulumi up` printed


def deploy_dev(project: EngineProject) -> dict[str, Any]:
    project.init_stack("dev")
    return {"up": project.up("dev").stdout}


def dev_at_10(project: EngineProject) -> None:
    deploy_dev(project)
    project.update("dev", {"canaryVersion": "v1.3.0", "canaryPhase": "10"})


GATED_NAMESPACE = "qa"  # the namespace a test's Prometheus serves the canary's series for
PROMETHEUS_DOWN = "http://127.0.0.1:9"  # nothing listens: set per test to a live one


def gated_at_10(project: EngineProject) -> None:
    """A staging-rules stack `qa` in render mode with a canary at 10 and no soak to wait out:
    its next step forward asks the analysis (starting a canary does not: no data yet)."""
    project.init_stack("qa")
    project.configure(
        "qa",
        {
            "environment": "staging",
            "namespace": GATED_NAMESPACE,
            "renderDirectory": "rendered/qa",
            "stableVersion": "v1.2.2",
            "redisPassword": TEST_REDIS_PASSWORD,
            "monitoring.prometheusUrl": PROMETHEUS_DOWN,
            **{f"soak.{phase}": "0s" for phase in ("10", "50", "100")},
        },
        secret={"redisPassword"},
    )
    project.up("qa")
    project.update("qa", {"canaryVersion": "v1.3.0", "canaryPhase": "10"})
