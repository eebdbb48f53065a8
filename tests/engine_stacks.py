"""The stacks the engine tests start from, each built once per run (harness.engine_templates)
and copied per test: what a test would otherwise repeat before its first assertion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.engine import EngineProject


@dataclass
class Deployed:
    project: EngineProject
    first_up: str  # what the first `pulumi up` printed


def deploy_dev(project: EngineProject) -> dict[str, Any]:
    project.init_stack("dev")
    return {"up": project.up("dev").stdout}


def dev_at_10(project: EngineProject) -> None:
    deploy_dev(project)
    project.configure("dev", {"canaryVersion": "v1.3.0", "canaryPhase": "10"})
    project.up("dev")
