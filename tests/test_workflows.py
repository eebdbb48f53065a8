"""The GitHub Actions workflows: actionlint (with shellcheck on every `run:` script), and what
actionlint cannot know about this project: every make target, script, Python module and
`involution` verb a `run:` step calls exists; every stack file has a preview job; and the
safety rules of the release workflows (permissions, one concurrency group per stack on every
job that changes one, actions pinned by commit, secrets never in a script's text)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.main import parser as involution_parser
from harness.paths import PROJECT_DIR
from tests.tooling import find_tool, missing, require_tool

pytestmark = pytest.mark.tools

WORKFLOWS = PROJECT_DIR / ".github" / "workflows"
ACTIONS = PROJECT_DIR / ".github" / "actions"

PIN = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$")
PINNED_LINE = re.compile(r"uses:\s*\S+@[0-9a-f]{40}\s+#\s*v\d+(?:\.\d+)*\s*$")
MAKE_CALL = re.compile(r"(?:^|[\s;&|(])make\s+((?:-\S+\s+)*)([A-Za-z][\w.-]*)")
SCRIPT_CALL = re.compile(r"(?<![\w./-])(?:\./)?(scripts/[\w./-]*[\w-])")
PYTHON_MODULE = re.compile(r"python3?\s+-m\s+([A-Za-z_][\w.]*)")
INVOLUTION_CALL = re.compile(r"(?:^|[\s/;&|(])involution\s+([a-z][\w-]*)")
STACK_CHANGE = re.compile(
    r"\bpulumi\s+(?:up|destroy|refresh|config\s+(?:set|rm))\b"
    r"|\binvolution\s+(?:start|advance|promote|rollback|watch)\b"
    r"|scripts/commit_stack\.sh|\bgit\s+push\b"
)
PUSHES = re.compile(r"scripts/commit_(?:stack|line)\.sh|\bgit\s+push\b")
COMMENTERS = ("marocchino/sticky-pull-request-comment@", "actions/github-script@")
STACK_GROUP = re.compile(r"^stack-(?:[a-z][\w-]*|\$\{\{\s*[\w.]+\s*\}\})$")


@dataclass(frozen=True)
class Workflow:
    path: Path
    document: dict[Any, Any]
    text: str

    @property
    def name(self) -> str:
        return self.path.name

    def jobs(self) -> dict[str, dict[str, Any]]:
        jobs: dict[str, dict[str, Any]] = self.document.get("jobs") or {}
        return jobs


def load(path: Path) -> Workflow:
    text = path.read_text()
    document = yaml.safe_load(text)
    assert isinstance(document, dict), path
    return Workflow(path, document, text)


def workflows() -> list[Workflow]:
    return [load(path) for path in sorted(WORKFLOWS.glob("*.yml"))]


def local_actions() -> list[Workflow]:
    return [load(path) for path in sorted(ACTIONS.glob("*/action.yml"))]


def steps_of(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = job.get("steps") or []
    return steps


def action_steps(action: Workflow) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = (action.document.get("runs") or {}).get("steps") or []
    return steps


def all_steps() -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, step) of every step: workflows' jobs and local composite actions."""
    for workflow in workflows():
        for job_id, job in workflow.jobs().items():
            for index, step in enumerate(steps_of(job)):
                yield f"{workflow.name}:{job_id}[{index}]", step
    for action in local_actions():
        for index, step in enumerate(action_steps(action)):
            yield f"{action.path.relative_to(PROJECT_DIR)}[{index}]", step


def run_text(steps: list[dict[str, Any]]) -> str:
    return "\n".join(str(step.get("run", "")) for step in steps)


def triggers(workflow: Workflow) -> dict[str, Any]:
    # YAML 1.1 reads a bare `on` key as the boolean true.
    found = workflow.document.get("on", workflow.document.get(True))
    if isinstance(found, str):
        return {found: None}
    if isinstance(found, list):
        return dict.fromkeys(found)
    assert isinstance(found, dict), workflow.name
    return found


# ------------------------------------------------------------------ the checks ------------


def make_targets(makefile: Path = PROJECT_DIR / "Makefile") -> set[str]:
    target = re.compile(r"^([A-Za-z][\w.-]*(?:\s+[A-Za-z][\w.-]*)*)\s*:(?!=)")
    names: set[str] = set()
    for line in makefile.read_text().splitlines():
        match = target.match(line)
        if match:
            names.update(match.group(1).split())
    return names


def involution_verbs() -> set[str]:
    for action in involution_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    raise AssertionError("cli.main.parser() has no subcommands")


def call_problems(where: str, script: str) -> list[str]:
    """Make targets, scripts, Python modules and involution verbs a script calls that the
    project does not have."""
    problems: list[str] = []
    targets = make_targets()
    verbs = involution_verbs()
    for line in script.splitlines():
        code = line.split("#", 1)[0] if line.lstrip().startswith("#") else line
        for match in MAKE_CALL.finditer(code):
            if match.group(2) not in targets:
                problems.append(f"{where}: make {match.group(2)}: no such Makefile target")
        for match in SCRIPT_CALL.finditer(code):
            if not (PROJECT_DIR / match.group(1)).is_file():
                problems.append(f"{where}: {match.group(1)} does not exist")
        for match in PYTHON_MODULE.finditer(code):
            if importlib.util.find_spec(match.group(1)) is None:
                problems.append(f"{where}: python -m {match.group(1)}: no such module")
        for match in INVOLUTION_CALL.finditer(code):
            if match.group(1) not in verbs:
                problems.append(f"{where}: involution {match.group(1)}: no such verb")
    return problems


def preview_stacks(workflow: Workflow) -> dict[str, str]:
    """stack -> job id of each `pulumi/actions` preview."""
    found: dict[str, str] = {}
    for job_id, job in workflow.jobs().items():
        matrix = (job.get("strategy") or {}).get("matrix") or {}
        for step in steps_of(job):
            options = step.get("with") or {}
            if not str(step.get("uses", "")).startswith("pulumi/actions@"):
                continue
            if options.get("command") != "preview":
                continue
            name = str(options.get("stack-name", ""))
            if re.fullmatch(r"\$\{\{\s*matrix\.stack\s*\}\}", name):
                stacks = [str(s) for s in matrix.get("stack", [])]
                stacks += [str(entry["stack"]) for entry in matrix.get("include", [])]
            else:
                stacks = [name]
            found.update(dict.fromkeys(stacks, job_id))
    return found


def comments(job: Mapping[str, Any]) -> bool:
    for step in steps_of(job):
        uses = str(step.get("uses", ""))
        if uses.startswith(COMMENTERS):
            return True
        if uses.startswith("pulumi/actions@") and str(
            (step.get("with") or {}).get("comment-on-pr", "false")
        ) not in ("false", "False"):
            return True
    return False


def job_problems(workflow: Workflow, job_id: str, job: Mapping[str, Any]) -> list[str]:
    where = f"{workflow.name}:{job_id}"
    problems: list[str] = []
    steps = steps_of(job)
    script = run_text(steps)
    permissions = job.get("permissions")
    granted = permissions if isinstance(permissions, dict) else {}
    if STACK_CHANGE.search(script):
        concurrency = job.get("concurrency")
        if not isinstance(concurrency, dict) or not STACK_GROUP.match(
            str(concurrency.get("group", ""))
        ):
            problems.append(f"{where}: changes a stack without concurrency group stack-<name>")
        elif concurrency.get("cancel-in-progress") is not False:
            problems.append(f"{where}: a stack change must never be cancelled in progress")
    line_group = (job.get("concurrency") or {}).get("group")
    if "scripts/commit_line.sh" in script and line_group != "release-line":
        problems.append(f"{where}: commits release-line.json outside group release-line")
    if granted.get("pull-requests") == "write" and not comments(job):
        problems.append(f"{where}: pull-requests: write but the job posts no comment")
    if comments(job) and granted.get("pull-requests") != "write":
        problems.append(f"{where}: comments without pull-requests: write")
    if granted.get("contents") == "write" and not PUSHES.search(script):
        problems.append(f"{where}: contents: write but the job pushes no commit")
    if PUSHES.search(script) and granted.get("contents") != "write":
        problems.append(f"{where}: pushes a commit without contents: write")
    if "secrets." in yaml.safe_dump(dict(job)) and not job.get("environment"):
        problems.append(f"{where}: uses secrets outside a GitHub environment")
    return problems


def workflow_problems(workflow: Workflow) -> list[str]:
    problems: list[str] = []
    if workflow.document.get("permissions") != {"contents": "read"}:
        problems.append(f"{workflow.name}: workflow-level permissions must be contents: read")
    for job_id, job in workflow.jobs().items():
        problems += job_problems(workflow, job_id, job)
    return problems


def step_problems(where: str, step: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    uses = str(step.get("uses", ""))
    if uses and not uses.startswith(("./", "docker://")) and not PIN.match(uses):
        problems.append(f"{where}: {uses} is not pinned by a full commit SHA")
    script = str(step.get("run", ""))
    if re.search(r"\$\{\{\s*secrets\.", script):
        problems.append(f"{where}: a secret inside run: text (pass it through env)")
    return problems + call_problems(where, script)


def pin_comment_problems(document: Workflow) -> list[str]:
    """Each pinned `uses:` line says which release it is (`# vX.Y.Z`)."""
    return [
        f"{document.path.name}:{number}: {line.strip()} lacks its `# vX.Y.Z` comment"
        for number, line in enumerate(document.text.splitlines(), start=1)
        if re.search(r"uses:\s*[^.\s][^@\s]*@", line) and not PINNED_LINE.search(line)
    ]


# ------------------------------------------------------------------ the tests -------------


def actionlint() -> str:
    found = find_tool("actionlint")
    cache = Path(
        os.environ.get("INVOLUTION_TOOLS_HOME")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "involution-tools"
    )
    if found is None and (cache / "bin" / "actionlint").is_file():
        found = str(cache / "bin" / "actionlint")
    if found is None:
        missing("actionlint not found: scripts/install_ci_linters.sh builds it (as .ci/run does)")
    return found


def test_actionlint_with_shellcheck_finds_nothing() -> None:
    shellcheck = require_tool("shellcheck", "shellcheck")
    result = subprocess.run(
        [actionlint(), "-no-color", "-shellcheck", shellcheck],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_shellcheck_passes_the_local_actions_scripts(tmp_path: Path) -> None:
    """actionlint lints workflows' scripts only; a composite action's are checked here."""
    shellcheck = require_tool("shellcheck", "shellcheck")
    scripts = []
    for action in local_actions():
        for index, step in enumerate(action_steps(action)):
            if "run" in step:
                script = tmp_path / f"{action.path.parent.name}-{index}.sh"
                # Expressions are replaced by a placeholder word, as actionlint does.
                body = re.sub(r"\$\{\{.*?\}\}", "placeholder", str(step["run"]))
                script.write_text(f"#!/usr/bin/env bash\nset -eo pipefail\n{body}")
                scripts.append(str(script))
    assert scripts
    result = subprocess.run(
        [shellcheck, *scripts], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflows_are_there() -> None:
    names = {workflow.name for workflow in workflows()}
    assert {"preview.yml", "ci.yml", "release.yml", "release-tick.yml"} <= names
    assert set(triggers(load(WORKFLOWS / "preview.yml"))) == {"pull_request"}
    assert set(triggers(load(WORKFLOWS / "ci.yml"))) == {"push", "pull_request"}
    release = triggers(load(WORKFLOWS / "release.yml"))
    assert set(release) == {"workflow_dispatch", "repository_dispatch"}
    gates = {"codeQuality", "unitTests", "integrationTests", "accuracy", "security", "apiContract"}
    inputs = release["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"version", *gates}
    assert all(inputs[gate]["options"] == ["failed", "passed"] for gate in gates)
    assert set(triggers(load(WORKFLOWS / "release-tick.yml"))) == {"schedule", "workflow_dispatch"}


def test_every_call_in_a_run_step_exists() -> None:
    problems = [p for where, step in all_steps() for p in step_problems(where, step)]
    assert problems == []


# Stacks whose target only exists on the machine that runs them: `local` is the control plane
# scripts/cluster.sh starts on loopback, deployed live by .ci/run (ci.yml), not previewed.
MACHINE_LOCAL_STACKS = {"local"}


def test_every_stack_file_has_a_preview_job() -> None:
    stacks = {
        path.name[len("Pulumi.") : -len(".yaml")] for path in PROJECT_DIR.glob("Pulumi.*.yaml")
    }
    previews = preview_stacks(load(WORKFLOWS / "preview.yml"))
    assert stacks - set(previews) - MACHINE_LOCAL_STACKS == set()
    assert (PROJECT_DIR / "Pulumi.local.yaml").exists()  # the exemption names a real stack
    for job_id in set(previews.values()):
        step = next(
            s
            for s in steps_of(load(WORKFLOWS / "preview.yml").jobs()[job_id])
            if str(s.get("uses", "")).startswith("pulumi/actions@")
        )
        options = step["with"]
        assert str(options["pulumi-version"]) == "3.274.1"  # what bootstrap_engine.sh builds
        assert options["diff"] is True and options["policyPacks"] == "policies"
        assert options["policyPackConfigs"].startswith("policies/config/")
        assert options["edit-pr-comment"] is True


def test_only_dev_is_previewed_for_a_fork() -> None:
    preview = load(WORKFLOWS / "preview.yml")
    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    for stack, job_id in preview_stacks(preview).items():
        job = preview.jobs()[job_id]
        if stack == "dev":
            assert "secrets." not in yaml.safe_dump(job), job_id
        else:
            assert job.get("if") == same_repo, job_id


def test_the_safety_rules_hold() -> None:
    problems = [p for workflow in workflows() for p in workflow_problems(workflow)]
    problems += [
        p for document in [*workflows(), *local_actions()] for p in pin_comment_problems(document)
    ]
    assert problems == []


def test_production_steps_forward_only_after_the_production_environment() -> None:
    """The jobs that start or advance production need a job in `production` (whose required
    reviewers are the manual approval); rollbacks never wait for one."""
    for name, approval, change in (
        ("release.yml", "approve-production", "production"),
        ("release-tick.yml", "approve-production-advance", "advance-production"),
    ):
        jobs = load(WORKFLOWS / name).jobs()
        assert jobs[approval]["environment"] == "production"
        needs = jobs[change]["needs"]
        assert approval in ([needs] if isinstance(needs, str) else needs)
        assert "involution watch --once --stack" in run_text(
            steps_of(load(WORKFLOWS / "release-tick.yml").jobs()["watch-production"])
        )
    watch = load(WORKFLOWS / "release-tick.yml").jobs()["watch-production"]
    assert watch["environment"] != "production"  # a rollback is committed at once
    assert "--auto-advance" not in run_text(steps_of(watch))


def test_the_line_stops_at_once_and_resumes_after_the_production_reviewers() -> None:
    """release-line.yml: `stop` waits for nobody; `resume` lets steps forward run again, so it
    waits for the `production` reviewers; both commit release-line.json to the default branch
    one at a time. release-tick asks no reviewer for a step forward while the line is stopped."""
    workflow = load(WORKFLOWS / "release-line.yml")
    inputs = triggers(workflow)["workflow_dispatch"]["inputs"]
    assert inputs["action"]["options"] == ["stop", "resume"]
    assert inputs["reason"]["required"] is True
    jobs = workflow.jobs()
    assert "environment" not in jobs["stop"]
    assert "involution stop-the-line" in run_text(steps_of(jobs["stop"]))
    assert jobs["approve-resume"]["environment"] == "production"
    assert jobs["resume"]["needs"] == "approve-resume"
    assert "involution resume" in run_text(steps_of(jobs["resume"]))
    for job_id in ("stop", "resume"):
        job = jobs[job_id]
        assert job["concurrency"] == {"group": "release-line", "cancel-in-progress": False}
        assert "scripts/commit_line.sh" in run_text(steps_of(job))
        assert "default_branch" in steps_of(job)[0]["with"]["ref"]
        assert "default_branch" in job["env"]["COMMIT_BRANCH"]
    tick = load(WORKFLOWS / "release-tick.yml").jobs()["watch-production"]
    assert "jq -e '.stopped == false' release-line.json" in run_text(steps_of(tick))


def test_the_kubeconfig_is_written_private() -> None:
    (setup,) = [a for a in local_actions() if a.path.parent.name == "setup"]
    (step,) = [s for s in action_steps(setup) if "KUBECONFIG_DATA" in str(s.get("run", ""))]
    assert str(step["run"]).lstrip().startswith("umask 077")
    assert step["env"]["KUBECONFIG_DATA"] == "${{ inputs.kubeconfig }}"


# ------------------------------------------------------- the checks catch what they should --

BAD = """
on: push
permissions: write-all
jobs:
  deploy:
    runs-on: ubuntu-24.04
    permissions:
      contents: write
      pull-requests: write
    steps:
      - uses: actions/checkout@v4
      - run: |
          make no-such-target
          scripts/no_such_script.sh
          venv/bin/python -m tools.no_such_module
          venv/bin/involution frobnicate --stack staging
          echo ${{ secrets.KUBECONFIG }} > kubeconfig
          pulumi config set --stack staging involution:canaryPhase 50
"""


def test_the_checks_find_every_kind_of_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(BAD)
    workflow = load(path)
    job = workflow.jobs()["deploy"]
    problems = workflow_problems(workflow) + [
        p for i, step in enumerate(steps_of(job)) for p in step_problems(f"deploy[{i}]", step)
    ]
    problems += pin_comment_problems(workflow)
    expected = [
        "workflow-level permissions must be contents: read",
        "changes a stack without concurrency group stack-<name>",
        "pull-requests: write but the job posts no comment",
        "contents: write but the job pushes no commit",
        "uses secrets outside a GitHub environment",
        "actions/checkout@v4 is not pinned by a full commit SHA",
        "lacks its `# vX.Y.Z` comment",
        "a secret inside run: text",
        "make no-such-target: no such Makefile target",
        "scripts/no_such_script.sh does not exist",
        "python -m tools.no_such_module: no such module",
        "involution frobnicate: no such verb",
    ]
    for text in expected:
        assert any(text in problem for problem in problems), (text, problems)
    assert len(problems) == len(expected), problems


def test_a_stack_without_a_preview_job_is_found(tmp_path: Path) -> None:
    path = tmp_path / "preview.yml"
    document = yaml.safe_load((WORKFLOWS / "preview.yml").read_text())
    del document["jobs"]["preview-dev"]
    path.write_text(yaml.safe_dump(document))
    assert set(preview_stacks(load(path))) == {"staging", "production"}
