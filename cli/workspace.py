"""The project's stacks through the Pulumi Automation API, as the `involution` command sees them.

The workspace is the project folder itself (its Pulumi.yaml and stack files), and every
`pulumi` the Automation API runs is scripts/pulumi.sh, the same one an operator runs, so the
local backend, the passphrase and the tracked stack files behave identically.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pulumi import automation as auto

from cli.engine_workspace import LazyVersionCommand, ProjectWorkspace
from cli.update_events import EVENT_LOG_ENV, stack_outputs
from involution.contract import NAMESPACE
from involution.errors import CLUSTER_HEADING, CONFIG_HEADING, PATH_HEADING
from involution.release.history import UpdateRecord
from involution.release.line import LINE_FILE

PROJECT_DIR = Path(__file__).resolve().parent.parent
# A folder with bin/pulumi; INVOLUTION_PULUMI_ROOT points elsewhere (e.g. the engine's own
# folder, with PULUMI_BACKEND_URL and a passphrase set by the caller).
DEFAULT_PULUMI_ROOT = PROJECT_DIR / "scripts" / "automation"
# `pulumi stack history` returns 10 updates unless a page size is given: read it in pages.
HISTORY_PAGE = 500
# The engine stamps an update's start with its own clock, to the second.
CLOCK_SLACK = timedelta(seconds=2)


class UnknownStackError(Exception):
    """The stack does not exist in the backend."""


class NoEngineError(Exception):
    """The engine folder (INVOLUTION_PULUMI_ROOT, else the project's own) has no bin/pulumi."""


class UpdateRefusedError(Exception):
    """The program refused the step before registering any resource: nothing changed."""


class UpdateFailedError(Exception):
    """`pulumi up` failed after it began: resources may have changed. The message carries the
    engine's error lines; `changed` counts the resource operations the update recorded."""

    def __init__(self, errors: str, changed: int | None) -> None:
        super().__init__(errors)
        self.changed = changed


# The program's own refusals (`StackConfigError` headings): raised before any resource.
REFUSAL_HEADINGS = (CONFIG_HEADING, PATH_HEADING, CLUSTER_HEADING)


@dataclass
class ReleaseStack:
    """One stack of the project: its outputs, its config, `pulumi up`."""

    name: str
    stack: auto.Stack

    def outputs(self) -> dict[str, Any]:
        """The last update's outputs, secret ones masked (the command never needs them): one
        `pulumi stack output --json` (the Automation API's own `outputs()` runs two)."""
        outputs: dict[str, Any] = json.loads(self._pulumi("stack", "output", "--json").stdout)
        return outputs

    def config(self, *, secrets: bool = False) -> dict[str, str]:
        """The `involution:` keys as the program reads them (objects as JSON text): one
        `pulumi config --json`. Secret keys are left out unless `secrets` (only for validating
        the whole config as the program does, the analysis verbs' settings): decrypting makes
        the engine derive the passphrase's key, 0.2 s of CPU, for values no step needs."""
        return {
            key: value for key, value in self._config(secrets=secrets).items() if value is not None
        }

    def _config(self, *, secrets: bool) -> dict[str, str | None]:
        """`involution:` keys -> value (None: a secret not shown)."""
        prefix = f"{NAMESPACE}:"
        shown = ["--show-secrets"] if secrets else []
        listed: dict[str, dict[str, Any]] = json.loads(
            self._pulumi("config", *shown, "--json").stdout
        )
        return {
            key[len(prefix) :]: _config_text(entry)
            for key, entry in listed.items()
            if key.startswith(prefix)
        }

    def stage(
        self, changes: Mapping[str, str | None]
    ) -> tuple[dict[str, str | None], dict[str, str]]:
        """Remove the keys `changes` sets to None (one `config rm-all` at most) and return the
        previous values (for `restore`) and the keys still to set, for `up(config=...)` to save
        as the update begins. A step never changes a secret (its previous value is not read,
        so it could not be put back)."""
        listed = self._config(secrets=False)
        secret = sorted(key for key in changes if key in listed and listed[key] is None)
        if secret:
            raise ValueError(f"a step may not change the secret keys {secret}")
        before = {key: value for key, value in listed.items() if value is not None}
        previous = {key: before.get(key) for key in changes}
        gone = [key for key, value in changes.items() if value is None and key in before]
        removed = [f"{NAMESPACE}:{key}" for key in gone]
        if removed:
            self.stack.remove_all_config(removed)
        pending = {key: value for key, value in changes.items() if value is not None}
        return previous, pending

    def apply(self, changes: Mapping[str, str | None]) -> dict[str, str | None]:
        """Set (or with None remove) keys now, one `config set-all` and one `config rm-all` at
        most; returns the previous values, for `restore`."""
        previous, pending = self.stage(changes)
        if pending:
            self.stack.set_all_config(
                {f"{NAMESPACE}:{key}": auto.ConfigValue(value=v) for key, v in pending.items()}
            )
        return previous

    def restore(self, previous: Mapping[str, str | None]) -> None:
        self.apply(previous)

    def forget(self, key: str) -> None:
        """Remove a key this command set itself (so known to be there): one `config rm`."""
        self.stack.remove_config(f"{NAMESPACE}:{key}")

    def up(
        self,
        message: str,
        on_output: Callable[[str], None] | None = None,
        config: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The update's outputs; UpdateRefusedError when the program refused the step (nothing
        registered), UpdateFailedError when the update failed otherwise. `config` (plain keys)
        is saved to the stack file as the update begins (`pulumi up --config`, as `config
        set-all` would, one command fewer). `pulumi up` through the Automation API's command
        runner; the outputs come from its engine events (its `Stack.up` reads them twice and
        the history once more, seconds per step the command never uses)."""
        started = datetime.now(UTC)
        flags = [f"--config={NAMESPACE}:{key}={value}" for key, value in (config or {}).items()]
        with tempfile.TemporaryDirectory(prefix="involution-up-") as folder:
            events = Path(folder) / "events.jsonl"
            try:
                self._pulumi(
                    "up",
                    "--yes",
                    "--skip-preview",
                    "--message",
                    message,
                    "--color",
                    "never",
                    "--exec-kind",
                    "auto.local",
                    "--event-log",
                    str(events),
                    *flags,
                    on_output=on_output,
                    env=EVENT_LOG_ENV,
                )
            except auto.CommandError as error:
                text = str(error)
                changed = self.changes_since(started)
                if any(heading in text for heading in REFUSAL_HEADINGS) and not changed:
                    raise UpdateRefusedError(_program_errors(text)) from None
                raise UpdateFailedError(_program_errors(text), changed) from None
            recorded = stack_outputs(events.read_text().splitlines()) if events.exists() else None
        return self.outputs() if recorded is None else recorded

    def _pulumi(
        self,
        *args: str,
        on_output: Callable[[str], None] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> auto.CommandResult:
        """One `pulumi` command on this stack, in the workspace's folder and environment."""
        workspace = self.stack.workspace
        assert isinstance(workspace, auto.LocalWorkspace)
        return workspace.pulumi_command.run(
            [*args, "--stack", self.name],
            workspace.work_dir,
            {**workspace.env_vars, **(env or {})},
            on_output,
        )

    def changes_since(self, started: datetime) -> int | None:
        """Resource operations (creates, updates, deletes, ...) of the last update if it began
        after `started`; None when the history cannot say."""
        try:
            last = self.stack.history(page_size=1, show_secrets=False)
        except auto.CommandError:
            return None
        if not last or last[0].start_time.replace(tzinfo=UTC) < started - CLOCK_SLACK:
            return 0  # no update was recorded: the engine stopped before it began
        return _operations(last[0])

    def last_update(self) -> tuple[UpdateRecord, bool] | None:
        """The newest update the backend recorded, and whether it was a refusal; None for a
        stack never updated."""
        summaries = self.stack.history(page_size=1, show_secrets=False)
        if not summaries:
            return None
        record = self._records(summaries, total=1)[0]
        return record, record.result == "failed" and _refusal(summaries[0])

    def history(self) -> tuple[UpdateRecord, ...]:
        """Every update the backend recorded; secret config values are never decrypted."""
        summaries: list[auto.UpdateSummary] = []
        page = 1
        while True:  # newest first; the CLI gives 10 updates unless asked for a page size
            batch = self.stack.history(page_size=HISTORY_PAGE, page=page, show_secrets=False)
            summaries += batch
            if len(batch) < HISTORY_PAGE:
                return self._records(summaries, total=len(summaries))
            page += 1

    @staticmethod
    def _records(summaries: list[auto.UpdateSummary], *, total: int) -> tuple[UpdateRecord, ...]:
        prefix = f"{NAMESPACE}:"
        # The file backend records no version numbers (all 0): number them by position.
        return tuple(
            UpdateRecord(
                version=summary.version or total - index,
                kind=summary.kind,
                result=summary.result,
                start=summary.start_time.replace(tzinfo=UTC),
                end=summary.end_time.replace(tzinfo=UTC) if summary.end_time else None,
                message=summary.message or "",
                config={
                    key[len(prefix) :]: value.value
                    for key, value in summary.config.items()
                    if key.startswith(prefix) and not value.secret
                },
            )
            for index, summary in enumerate(summaries)
        )


def open_stack(name: str, project_dir: Path | None = None) -> ReleaseStack:
    """The stack `name` of the project; UnknownStackError when the backend has none of that name."""
    configured = os.environ.get("INVOLUTION_PULUMI_ROOT")
    root = Path(configured or DEFAULT_PULUMI_ROOT)
    if not os.access(root / "bin" / "pulumi", os.X_OK):
        where = f"INVOLUTION_PULUMI_ROOT={root}" if configured else f"the engine folder {root}"
        raise NoEngineError(
            f"{where}: no executable bin/pulumi in it; a folder holding bin/pulumi is allowed "
            f"(unset, the project's own {DEFAULT_PULUMI_ROOT} is used)"
        )
    project = project_dir or Path(os.environ.get("INVOLUTION_PROJECT_DIR") or PROJECT_DIR)
    if not configured and project.resolve() != PROJECT_DIR:
        # The project's own engine folder runs scripts/pulumi.sh, which works in the project
        # it belongs to: another project's steps would change this one's stack files.
        raise NoEngineError(
            f"INVOLUTION_PROJECT_DIR={project}: the default engine folder {root} works on "
            f"{PROJECT_DIR} only; for another project set INVOLUTION_PULUMI_ROOT to a folder "
            "holding bin/pulumi (with that project's backend and passphrase)"
        )
    workspace = ProjectWorkspace(
        work_dir=str(project),
        pulumi_command=LazyVersionCommand(str(root)),
        env_vars={
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        },
    )
    try:
        stack = auto.Stack.select(name, workspace)
    except auto.StackNotFoundError:
        raise UnknownStackError(name) from None
    except auto.CommandError as error:
        if "no stack named" in str(error) or "not found" in str(error):
            raise UnknownStackError(name) from None
        raise
    return ReleaseStack(name=name, stack=stack)


# Operations that change nothing: a resource left as it was, a StackReference read.
UNCHANGING = frozenset({"same", "read"})


# A refusal happens before the program registers any resource: the update touched the stack
# itself and the StackReferences it read (its own and its `promoteFrom` stack's), no more.
REFUSAL_MAX_OPERATIONS = 3


def _refusal(summary: auto.UpdateSummary) -> bool:
    changes = summary.resource_changes or {}
    return _operations(summary) == 0 and sum(changes.values()) <= REFUSAL_MAX_OPERATIONS


def _operations(summary: auto.UpdateSummary) -> int:
    changes = summary.resource_changes or {}
    return sum(count for op, count in changes.items() if op not in UNCHANGING)


def _config_text(entry: Mapping[str, Any]) -> str | None:
    """One `pulumi config --json` entry as the program reads it (its `value`: objects as JSON
    text), None for a secret whose value was not shown."""
    value = entry.get("value")
    return None if value is None else str(value)


def _program_errors(text: str) -> str:
    """The program's own error lines (and the problems listed under them), without the
    Automation API's wrapping and the engine's generic exit lines."""
    wanted = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(("- involution:", f"- {LINE_FILE}")):
            wanted.append(f"  {line}")
        elif "error:" in line and "unhandled error" not in line and "exit code" not in line:
            wanted.append(line[line.index("error:") :])
    unique = list(dict.fromkeys(wanted))
    return "\n".join(unique) or text.strip().splitlines()[-1]
