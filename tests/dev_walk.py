"""One release walk of the dev stack with the real engine, recorded step by step.

Three modules read it instead of walking dev each on their own: test_engine (the weights and
outputs `pulumi config set` + `pulumi up` leave after each step), test_cli (every `involution`
verb, every misuse and its exit code) and test_engine_report (the report over its history).
It is built once per run as an engine template (harness.engine.templates): a test that goes
on from it works on a copy.

The walk: `involution status` before anything is deployed, the first `up`; advance and
rollback with nothing live, `start latest`; `involution start` v1.3.0 at 10, a second start
refused, 50 by `pulumi config set` + `up`, `involution advance` to 100 and once more (nothing
left but promotion), a staged rollback to 50 and back to 100, `involution promote`; then
v1.4.0 at 10 by config, a step to 100 refused by the release path (a failed update), the
config put back, `involution rollback`, the release closed and a patch v1.3.1 straight on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from harness.engine.project import EngineProject, history

STACK = "dev"
RENDERED = "rendered/dev"
RELEASE = "v1.3.0"
NEXT = "v1.4.0"
PATCH = "v1.3.1"


@dataclass
class Step:
    name: str
    command: str
    code: int
    output: str
    outputs: dict[str, Any]  # `pulumi stack output` after the step ({} before the first up)
    nginx_conf: str  # the router ConfigMap's nginx.conf in the render folder after the step
    deployments: dict[str, dict[str, Any]]  # rendered Deployments by name


@dataclass
class Walk:
    steps: list[Step]
    history: list[dict[str, Any]]  # `pulumi stack history --json`, newest first

    def step(self, name: str) -> Step:
        (found,) = [s for s in self.steps if s.name == name]
        return found

    def updates(self) -> list[dict[str, Any]]:
        """Oldest first (the file backend numbers no versions: the order is the record)."""
        return [u for u in reversed(self.history) if u["kind"] == "update"]

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Walk:
        return cls([Step(**s) for s in record["steps"]], record["history"])


class _Walker:
    def __init__(self, project: EngineProject) -> None:
        self.project = project
        self.steps: list[Step] = []

    def record(
        self, name: str, command: str, code: int, output: str, outputs: dict[str, Any] | None = None
    ) -> None:
        """The step, with the stack's outputs after it (`outputs` when the step's own update
        reported them, else `pulumi stack output`)."""
        deployed = (self.project.root / RENDERED).exists()
        documents = self.project.rendered(RENDERED) if deployed else []
        if outputs is None:
            outputs = self.project.outputs(STACK) if deployed else {}
        self.steps.append(
            Step(
                name=name,
                command=command,
                code=code,
                output=output,
                outputs=outputs,
                nginx_conf=self.project.rendered_nginx_conf(RENDERED) if deployed else "",
                deployments={
                    d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"
                },
            )
        )

    def involution(self, name: str, *args: str) -> None:
        result = self.project.involution(*args)
        output = result.stdout + result.stderr
        self.record(name, "involution " + " ".join(args), result.returncode, output)

    def up(self, name: str, changes: dict[str, str | None]) -> None:
        update = self.project.update(STACK, changes, check=False)
        code = update.result.returncode
        self.record(name, f"config {changes} + up", code, update.output, update.outputs)


def walk_dev(project: EngineProject) -> dict[str, Any]:
    """Walk it on `project`; the record, as JSON, for Walk.from_record."""
    w = _Walker(project)
    project.init_stack(STACK)
    w.involution("status of an unknown stack", "status", "--stack", "ghost")
    w.involution("status before the first up", "status", "--stack", STACK)
    w.up("first up", {})
    w.involution("advance with nothing live", "advance", "--stack", STACK)
    w.involution("rollback with nothing live", "rollback", "--stack", STACK)
    w.involution("start latest", "start", "--stack", STACK, "latest")
    w.involution("start", "start", "--stack", STACK, RELEASE, "--reason", "CHG-12 go")
    w.involution("start while live", "start", "--stack", STACK, NEXT)
    w.up("50 by config", {"canaryPhase": "50"})
    w.involution("advance to 100", "advance", "--stack", STACK)
    w.involution("advance past 100", "advance", "--stack", STACK)
    w.involution("staged rollback", "rollback", "--stack", STACK, "--staged")
    w.involution("status at 50", "status", "--stack", STACK)
    w.involution("advance to 100 again", "advance", "--stack", STACK)
    w.involution("promote", "promote", "--stack", STACK)
    w.up("next canary at 10", {"canaryVersion": NEXT, "canaryPhase": "10"})
    w.up("100 refused", {"canaryPhase": "100"})
    project.configure(STACK, {"canaryPhase": "10"})
    w.involution("rollback", "rollback", "--stack", STACK, "--reason", "errors")
    w.up("close", {"canaryPhase": "none", "canaryVersion": None})
    w.up("patch", {"stableVersion": PATCH})
    walked = Walk(w.steps, history(project, STACK))
    return {"steps": [asdict(s) for s in walked.steps], "history": walked.history}
