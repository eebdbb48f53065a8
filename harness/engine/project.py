"""The real Pulumi engine on a copy of the project: CLI, language host, Kubernetes provider.

Each project is a copy of the program in a temp folder with its own file backend and
passphrase, sharing the repository's venv and the engine cache, so tests and benchmarks never
touch the working tree's stacks. Stack files are copied without any machine's secrets-provider
settings (`encryptionsalt` and co.): each copy's stack is initialised with its own passphrase.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cli.update_events import EVENT_LOG_ENV, stack_outputs
from harness import yaml_load
from harness.paths import PROJECT_DIR
from harness.processes import run_bounded
from harness.tooling import ToolMissing

STACK_FILES = (
    "Pulumi.dev.yaml",
    "Pulumi.staging.yaml",
    "Pulumi.production.yaml",
    "Pulumi.local.yaml",
)
# What `pulumi up` runs: the project file, the program and the pack (the harness is not needed).
COPIED = (
    "Pulumi.yaml",
    "__main__.py",
    "involution",
    "components",
    "program",
    "policies",
    "release-line.json",
)
TEST_PASSPHRASE = "engine-tests-only"
# One `pulumi` command's deadline; past it the command and all it started are killed.
PULUMI_TIMEOUT_SECONDS = 600
# The alerting keys an operator sets with --secret.
ALERTING_SECRETS = ("slackWebhookUrl", "pagerdutyRoutingKey", "emailAuthPassword")
# Top-level keys of a stack file that belong to one machine's secrets provider, not the release.
SECRETS_PROVIDER_KEYS = ("encryptionsalt", "secretsprovider", "encryptedkey")
_SECRETS_PROVIDER_LINE = re.compile(rf"^({'|'.join(SECRETS_PROVIDER_KEYS)}):")


def engine_bin() -> Path:
    """The folder scripts/bootstrap_engine.sh fills; ToolMissing if it is not built."""
    result = subprocess.run(
        [str(PROJECT_DIR / "scripts" / "bootstrap_engine.sh"), "--print-bin"],
        capture_output=True,
        text=True,
        check=True,
    )
    folder = Path(result.stdout.strip())
    needed = (
        "pulumi",
        "pulumi-language-python",
        "pulumi-language-python-exec",
        "pulumi-analyzer-policy-python",
    )
    absent = [name for name in needed if not (folder / name).exists()]
    if absent:
        raise ToolMissing(
            f"Pulumi engine not built ({', '.join(absent)}): run scripts/bootstrap_engine.sh"
        )
    return folder


@dataclass(frozen=True)
class Update:
    """One `pulumi up`: what it printed and the stack outputs it left (None: it failed)."""

    result: subprocess.CompletedProcess[str]
    outputs: dict[str, Any] | None

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr

    @property
    def recorded(self) -> dict[str, Any]:
        """The outputs of an update that succeeded."""
        assert self.outputs is not None, f"the update failed:\n{self.output}"
        return self.outputs


@dataclass
class EngineProject:
    """A project copy plus the environment `pulumi` runs in."""

    root: Path
    env: dict[str, str]

    def pulumi(
        self,
        *args: str,
        check: bool = True,
        input_text: str | None = None,
        env_extra: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        try:
            result = run_bounded(
                ["pulumi", *args, "--non-interactive"],
                cwd=self.root,
                env={**self.env, **(env_extra or {})},
                input_text=input_text,
                timeout=PULUMI_TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired as timeout:
            printed = "".join(
                part.decode() if isinstance(part, bytes) else part
                for part in (timeout.stdout or "", timeout.stderr or "")
            )
            raise AssertionError(
                f"pulumi {' '.join(args)} ran past {PULUMI_TIMEOUT_SECONDS}s and was killed with "
                f"everything it started; it printed:\n{printed[-4000:]}"
            ) from None
        if check and result.returncode != 0:
            raise AssertionError(
                f"pulumi {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    @property
    def state(self) -> Path:
        """The file backend's folder."""
        return Path(self.env["PULUMI_BACKEND_URL"].removeprefix("file://"))

    def init_stack(self, stack: str, config: Mapping[str, str] | None = None) -> None:
        self.pulumi("stack", "init", stack, "--secrets-provider", "passphrase")
        self.configure(stack, config or {})

    def set(
        self, stack: str, key: str, value: str, *, secret: bool = False, path: bool = False
    ) -> None:
        flags = [*(["--secret"] if secret else []), *(["--path"] if path else [])]
        self.pulumi("config", "set", "--stack", stack, *flags, f"involution:{key}", value)

    def rm(self, stack: str, key: str) -> None:
        self.pulumi("config", "rm", "--stack", stack, f"involution:{key}")

    def configure(
        self, stack: str, changes: Mapping[str, str | None], *, secret: Iterable[str] = ()
    ) -> None:
        """Set each key (a dotted one by path; those in `secret` encrypted), or remove it where
        the value is None: one `pulumi config set-all` and one `rm-all` per kind of key (plain,
        dotted), never one command per key."""
        secrets = set(secret)
        for by_path in (False, True):
            keys = [key for key in changes if ("." in key) == by_path]
            path = ["--path"] if by_path else []
            removed = [f"involution:{key}" for key in keys if changes[key] is None]
            if removed:
                self.pulumi("config", "rm-all", "--stack", stack, *path, *removed)
            pairs = [
                ("--secret" if key in secrets else "--plaintext", f"involution:{key}={value}")
                for key in keys
                if (value := changes[key]) is not None
            ]
            if pairs:
                flags = [part for pair in pairs for part in pair]
                self.pulumi("config", "set-all", "--stack", stack, *path, *flags)

    def up(self, stack: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.pulumi("up", "--yes", "--skip-preview", "--stack", stack, *extra)

    def update(
        self,
        stack: str,
        changes: Mapping[str, str | None] | None = None,
        *,
        check: bool = True,
        env_extra: Mapping[str, str] | None = None,
    ) -> Update:
        """`pulumi config set` + `pulumi up`, as an operator runs them, in fewer commands: keys
        removed and dotted keys by `configure`, plain keys saved by the update itself (`pulumi
        up --config`, as the `involution` command does); the outputs read from the update's
        engine events instead of one more `pulumi stack output`."""
        changes = changes or {}
        self.configure(stack, {k: v for k, v in changes.items() if v is None or "." in k})
        flags = [
            f"--config=involution:{key}={value}"
            for key, value in changes.items()
            if value is not None and "." not in key
        ]
        events = self.root.parent / "update-events.jsonl"
        events.unlink(missing_ok=True)
        result = self.pulumi(
            *("up", "--yes", "--skip-preview", "--stack", stack, "--event-log", str(events)),
            *flags,
            check=check,
            env_extra={**EVENT_LOG_ENV, **(env_extra or {})},
        )
        outputs = None
        if result.returncode == 0:
            outputs = stack_outputs(events.read_text().splitlines())
            assert outputs is not None, f"no stack outputs in the events of {stack}'s update"
        return Update(result, outputs)

    def preview_with_policies(
        self, stack: str, environment: str
    ) -> subprocess.CompletedProcess[str]:
        """`pulumi preview` as CI runs it on a pull request: the pack and its config."""
        return self.pulumi(
            "preview",
            "--stack",
            stack,
            "--policy-pack",
            "policies",
            "--policy-pack-config",
            f"policies/config/{environment}.json",
            check=False,
        )

    def with_secrets(self, stack: str, redis_password: str, alerting: Mapping[str, str]) -> None:
        """Secrets as an operator sets them: encrypted in the stack file."""
        changes: dict[str, str | None] = {"redisPassword": redis_password}
        changes.update({f"alerting.{key}": value for key, value in alerting.items()})
        secret = {"redisPassword", *(f"alerting.{key}" for key in ALERTING_SECRETS)}
        self.configure(stack, changes, secret=secret)

    def involution_command(self, *args: str) -> tuple[list[str], dict[str, str]]:
        """(argv, environment) of the `involution` command on this copy: its Automation API
        workspace is the copy, running the engine binary directly with the copy's backend and
        passphrase. Run it with cwd=self.root."""
        env = {
            **self.env,
            "INVOLUTION_PROJECT_DIR": str(self.root),
            "INVOLUTION_PULUMI_ROOT": str(engine_bin().parent),
            # This checkout's command, whichever checkout the venv was installed from.
            "PYTHONPATH": str(PROJECT_DIR),
        }
        return [str(PROJECT_DIR / "venv" / "bin" / "python"), "-m", "involution", *args], env

    def involution(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """The `involution` command on this copy, run to its end."""
        command, env = self.involution_command(*args)
        return run_bounded(command, cwd=self.root, env=env, timeout=timeout)

    def outputs(self, stack: str) -> dict[str, Any]:
        result = self.pulumi("stack", "output", "--json", "--stack", stack)
        outputs: dict[str, Any] = json.loads(result.stdout)
        return outputs

    def rendered(self, folder: str) -> list[dict[str, Any]]:
        """Every manifest the provider wrote in render mode."""
        documents: list[dict[str, Any]] = []
        for path in sorted((self.root / folder).rglob("*.yaml")):
            documents.extend(d for d in yaml_load.load_all(path.read_text()) if d)
        return documents

    def rendered_nginx_conf(self, folder: str) -> str:
        confs = [
            d["data"]["nginx.conf"]
            for d in self.rendered(folder)
            if d.get("kind") == "ConfigMap" and "nginx.conf" in (d.get("data") or {})
        ]
        assert len(confs) == 1, f"{len(confs)} nginx.conf ConfigMaps rendered in {folder}"
        text: str = confs[0]
        return text


def without_secrets_provider(text: str) -> str:
    """A stack file's text minus the lines of a machine's secrets provider (one line each)."""
    return "".join(
        line for line in text.splitlines(keepends=True) if not _SECRETS_PROVIDER_LINE.match(line)
    )


def make_project(base: Path, *, extra_env: Mapping[str, str] | None = None) -> EngineProject:
    root = base / "project"
    root.mkdir(parents=True)
    for name in STACK_FILES:
        source = PROJECT_DIR / name
        if source.exists():
            (root / name).write_text(without_secrets_provider(source.read_text()))
    for name in COPIED:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, root / name)  # bytecode caches too (copy2 keeps mtimes)
        elif source.exists():
            shutil.copy2(source, root / name)
    (root / "venv").symlink_to(PROJECT_DIR / "venv")
    state = base / "state"
    state.mkdir()
    return EngineProject(root=root, env=_environment(state, extra_env))


def _environment(state: Path, extra_env: Mapping[str, str] | None) -> dict[str, str]:
    env = {
        **os.environ,
        # The venv first, as scripts/pulumi.sh puts it (the language host's `python3`).
        "PATH": os.pathsep.join(
            (str(engine_bin()), str(PROJECT_DIR / "venv" / "bin"), os.environ.get("PATH", ""))
        ),
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": TEST_PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_SKIP_CONFIRMATIONS": "true",
        "NO_COLOR": "1",
        **(extra_env or {}),
    }
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    return env


def copy_project(
    source: EngineProject, base: Path, *, extra_env: Mapping[str, str] | None = None
) -> EngineProject:
    """`source` and its state in `base`, with a backend of its own: every stack as `source`
    left it (config and salt, outputs, history, rendered manifests), for the cost of a file
    copy instead of `stack init` and `pulumi up` again. Neither folder holds an absolute path
    of the other (the render folders are relative), so the copy runs where it lies."""
    root, state = base / "project", base / "state"
    shutil.copytree(source.root, root, symlinks=True)
    shutil.copytree(source.state, state, symlinks=True)
    env = {**source.env, "PULUMI_BACKEND_URL": f"file://{state}", **(extra_env or {})}
    return EngineProject(root=root, env=env)


def project_in(base: Path) -> EngineProject:
    """The project make_project(base) made, as another process finds it."""
    return EngineProject(root=base / "project", env=_environment(base / "state", None))


def history(project: EngineProject, stack: str) -> list[dict[str, Any]]:
    # The CLI returns the newest 10 updates unless given a page size.
    result = project.pulumi(
        "stack", "history", "--json", "--page-size", "100000", "--page", "1", "--stack", stack
    )
    entries: list[dict[str, Any]] = json.loads(result.stdout)
    return entries
