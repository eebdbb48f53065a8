"""The README as written: its own command blocks, in its order, in one bash shell, on a fresh
clone; then the `involution` verbs in every shell a user has.

The walk is `harness.engine.readme.walk_blocks`: every ```bash block from "Quick start" to the
end of the dev walk, so a block that changes in the README changes what runs and a block that fails
fails here. `pulumi up` asks for confirmation in a terminal; in this non-interactive shell
`PULUMI_SKIP_CONFIRMATIONS=true` gives Pulumi's documented answer. Afterwards `git status`
shows exactly the file the release itself changes: Pulumi.dev.yaml.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.engine.fresh_clone import FreshClone, make_clone
from harness.engine.project import engine_bin
from harness.engine.readme import BLOCK_MARK, FAIL_MARK, script, walk_blocks
from harness.paths import PROJECT_DIR
from tests.tooling import or_missing

# One worker for the whole module (the README walk: one module fixture).
pytestmark = [pytest.mark.readme, pytest.mark.xdist_group("readme")]

README = PROJECT_DIR / "README.md"
# What the walk must do, as the README's commands spell it: a walk that loses one fails.
VERBS = {
    "deploy": "make deploy",
    "start": "involution:canaryPhase 10",
    "advance": "involution:canaryPhase 100",
    "promote": "involution promote",
    "rollback": "involution:canaryPhase rollback",
    "staged rollback": "rollback --stack dev --staged",
    "close": "involution close",
    "patch": "involution:stableVersion v1.3.1",
    "status": "involution status",
    "report": "involution report",
}
# The one tracked file a release changes: the stack's config, committed by CI.
RELEASE_FILES = {"Pulumi.dev.yaml"}
# A verb that has not answered in this long is hanging (a healthy one takes seconds).
VERB_TIMEOUT = 240.0


@dataclass
class Walked:
    clone: FreshClone
    output: str
    seconds: float
    blocks: int


def run_detached(
    command: list[str], *, env: dict[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run in its own process group, killed whole on a timeout: a wrapper that recursed would
    otherwise leave its chain of shells behind."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        out, err = process.communicate()
        pytest.fail(f"{shlex.join(command)} hung for {timeout:.0f}s:\n{out}\n{err}")
    return subprocess.CompletedProcess(command, process.returncode, out, err)


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walked]:
    or_missing(engine_bin)
    clone = or_missing(lambda: make_clone(tmp_path_factory.mktemp("readme")))
    blocks = walk_blocks(clone.root / "README.md")
    started = time.monotonic()
    result = run_detached(
        ["bash", "-c", script(blocks, prelude="export PULUMI_SKIP_CONFIRMATIONS=true")],
        env=clone.env,
        cwd=clone.root,
        timeout=1800,
    )
    seconds = time.monotonic() - started
    output = result.stdout + result.stderr
    failed = [line for line in output.splitlines() if line.startswith(FAIL_MARK)]
    assert result.returncode == 0 and not failed, (
        f"the README walk stopped: {failed or result.returncode}\n{output[-6000:]}"
    )
    print(f"README walk: {len(blocks)} blocks in {seconds:.0f}s")
    yield Walked(clone=clone, output=output, seconds=seconds, blocks=len(blocks))


def test_the_walk_covers_every_step_an_operator_takes() -> None:
    blocks = walk_blocks(README)
    commands = "\n".join(c for b in blocks for c in b.commands)
    missing = [verb for verb, text in VERBS.items() if text not in commands]
    assert not missing, f"the README's dev walk no longer shows: {missing}"
    assert blocks[0].commands[0].startswith("make deploy")
    assert any(c.startswith(". scripts/env.sh") for c in blocks[1].commands)


def test_the_readme_walk_runs_as_written(walked: Walked) -> None:
    marks = [line for line in walked.output.splitlines() if line.startswith(BLOCK_MARK)]
    assert len(marks) == walked.blocks
    outputs = json.loads(
        walked.clone.bash(". scripts/env.sh && pulumi stack output --json --stack dev").stdout
    )
    assert (outputs["phase"], outputs["stableVersion"], outputs.get("canaryVersion")) == (
        "none",
        "v1.5.0",
        None,
    )
    steps = [entry["step"] for entry in outputs["releaseLog"]]
    assert steps[-9:] == [
        "start",
        "advance",
        "advance",
        "promote",
        "start",
        "advance",
        "step-back",
        "rollback",
        "close",
    ], steps
    assert "involution: refused" not in walked.output


def test_the_report_counts_the_walks_releases(walked: Walked) -> None:
    result = walked.clone.run("venv/bin/involution", "report", "--stack", "dev", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # v1.3.0 promoted, v1.3.1 a patch, v1.4.0 rolled back in stages, v1.5.0 promoted by
    # `involution`, v1.6.0 rolled back by it.
    assert (report["releases"], report["promoted"], report["releasedDirect"]) == (5, 2, 1)
    assert (report["rolledBack"], report["failedUpdates"]) == (2, 0)


def test_the_walk_runs_on_the_operators_engine_settings(walked: Walked) -> None:
    """The suite's `pulumi up`s checkpoint only when they end (tests/conftest.py); the clone
    drops that setting with the caller's other PULUMI_ variables and checkpoints as an
    operator's engine does."""
    assert os.environ.get("PULUMI_SKIP_CHECKPOINTS"), "the suite's own setting is gone"
    assert "PULUMI_SKIP_CHECKPOINTS" not in walked.clone.env
    shell = walked.clone.bash(". scripts/env.sh && env")
    assert "PULUMI_SKIP_CHECKPOINTS" not in shell.stdout


def test_git_status_shows_only_the_release(walked: Walked) -> None:
    changed = {line[3:] for line in walked.clone.status()}
    assert changed == RELEASE_FILES, walked.clone.status()
    stack_file = (walked.clone.root / "Pulumi.dev.yaml").read_text()
    assert "encryptionsalt" not in stack_file
    assert "involution:stableVersion: v1.5.0" in stack_file


def test_the_pulumi_of_env_sh_starts_the_language_host_on_the_venvs_python(
    walked: Walked,
) -> None:
    """`pulumi` after `. scripts/env.sh` is scripts/pulumi.sh: the engine's language host finds
    the clone's venv first on PATH, not the shell's python3 (pyenv's shim, here)."""
    result = walked.clone.bash(". scripts/env.sh && pulumi about --stack dev")
    assert result.returncode == 0, result.stdout + result.stderr
    venv_bin = walked.clone.root / "venv" / "bin"
    assert f"executable='{venv_bin}/python3'" in result.stdout, result.stdout


SHELLS = {
    "a fresh shell": "venv/bin/involution {verb} --stack dev",
    "env.sh sourced once": ". scripts/env.sh && venv/bin/involution {verb} --stack dev",
    "env.sh sourced twice": (
        ". scripts/env.sh && . scripts/env.sh && venv/bin/involution {verb} --stack dev"
    ),
    # The shell of the hang: the engine already on PATH before env.sh, so env.sh does not
    # put it first and the Automation API's wrapper came first instead.
    "the engine already on PATH": (
        'export PATH="$(scripts/bootstrap_engine.sh --print-bin):$PATH" && . scripts/env.sh && '
        "venv/bin/involution {verb} --stack dev"
    ),
    "a backend and passphrase exported by the caller": (
        'export PULUMI_BACKEND_URL="file://$PWD/.state" '
        'PULUMI_CONFIG_PASSPHRASE="$(cat "$HOME/.config/involution/passphrase")" && '
        ". scripts/env.sh && venv/bin/involution {verb} --stack dev"
    ),
    "another working directory": (
        '. scripts/env.sh && root="$PWD" && cd / && "$root/venv/bin/involution" {verb} --stack dev'
    ),
    "CI=true": "export CI=true && . scripts/env.sh && venv/bin/involution {verb} --stack dev",
}


@pytest.mark.parametrize("shell", list(SHELLS))
def test_the_involution_verbs_answer_in_every_shell(walked: Walked, shell: str) -> None:
    for verb, expected in (("status", "phase          none"), ("analyze", "nothing to analyze")):
        command = SHELLS[shell].format(verb=verb)
        result = run_detached(
            ["bash", "-c", command],
            env=walked.clone.env,
            cwd=walked.clone.root,
            timeout=VERB_TIMEOUT,
        )
        output = result.stdout + result.stderr
        assert expected in output, f"{shell}: {command}\n{output}"
        assert result.returncode in (0, 4), f"{shell}: {command} exited {result.returncode}"


def test_the_engine_of_pulumi_sh_collects_no_garbage_unless_told(walked: Walked) -> None:
    """scripts/pulumi.sh gives the engine scripts/lib/go_runtime.env's Go settings, as the
    suite does its own (so the suite's variables are dropped here); `gctrace` prints a line
    per collection. An operator's own GOGC is kept."""
    collections = {}
    for given in ("", "GOGC=100"):
        result = walked.clone.bash(
            f"env -u GOGC -u GOMEMLIMIT {given} GODEBUG=gctrace=1 scripts/pulumi.sh version"
        )
        assert result.returncode == 0, result.stderr
        collections[given] = [n for n in result.stderr.splitlines() if n.startswith("gc ")]
    assert collections[""] == []
    assert collections["GOGC=100"], "the operator's GOGC=100 was not kept"


def test_a_nested_pulumi_wrapper_is_refused_at_once(walked: Walked) -> None:
    started = time.monotonic()
    result = run_detached(
        ["bash", "-c", "INVOLUTION_PULUMI_WRAPPER=4242 scripts/pulumi.sh version"],
        env=walked.clone.env,
        cwd=walked.clone.root,
        timeout=60,
    )
    assert result.returncode == 2
    assert "refused: called from inside scripts/pulumi.sh (pid 4242)" in result.stderr
    assert time.monotonic() - started < 30


def test_the_automation_wrapper_first_on_path_does_not_recurse(walked: Walked) -> None:
    result = run_detached(
        ["bash", "-c", 'PATH="$PWD/scripts/automation/bin:$PATH" scripts/pulumi.sh stack ls'],
        env=walked.clone.env,
        cwd=walked.clone.root,
        timeout=VERB_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    assert "dev" in result.stdout
