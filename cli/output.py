"""What `involution status` prints: the deployed release as an operator reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cli.last_analysis import load_last_analysis
from cli.line_verbs import project_line
from cli.workspace import ReleaseStack
from involution.config.freeze import read_freeze
from involution.config.path import format_duration
from involution.config.reader import ConfigReader
from involution.contract import SECRET_KEYS
from involution.release.history import UpdateRecord
from involution.release.holds import freeze_notices
from involution.release.line import LineState
from involution.release.state import rfc3339


def status_lines(outputs: dict[str, Any], now: datetime, last: dict[str, Any] | None) -> list[str]:
    if not outputs:
        return ["not deployed yet: `pulumi up` (or `make deploy` for dev) deploys it"]
    lines = [
        f"phase          {outputs.get('phase')}",
        f"stable         {outputs.get('stableVersion')} ({outputs.get('stableWeight')}%)",
        f"canary         {outputs.get('canaryVersion') or '-'} ({outputs.get('canaryWeight')}%)",
    ]
    since = _time(outputs.get("phaseSince"))
    if since is not None:
        lines.append(
            f"in phase       {format_duration(now - since)} (since {outputs['phaseSince']})"
        )
    until = _time(outputs.get("soakUntil"))
    if until is not None:
        left = "over" if until <= now else f"{format_duration(until - now)} left"
        lines.append(f"soak           {left} (until {outputs['soakUntil']})")
    commands = outputs.get("nextCommands") or {}
    if commands.get("advanceAllowed"):
        lines.append(f"next step      {commands['advanceAllowed']}")
    if last is not None:
        lines.append(
            f"last analysis  {last.get('decision')} at {last.get('evaluatedAt')}: "
            f"{last.get('reason')}"
        )
    else:
        lines.append("last analysis  none recorded on this machine (`involution analyze`)")
    return lines


def update_lines(
    stack: str, last: tuple[UpdateRecord, bool] | None, config: dict[str, str]
) -> list[str]:
    """A stack whose last update failed: what it asked for and the two ways on. A refusal
    (the program's, before anything was registered) changed nothing."""
    if last is None or last[0].result != "failed":
        return []
    update, refused = last
    when = rfc3339(update.end or update.start)
    if refused:
        return [f"last update    refused at {when}, nothing changed: {update.message}"]
    asked = ", ".join(
        f"{key} {config[key]}"
        for key in ("canaryPhase", "canaryVersion", "stableVersion")
        if key in config
    )
    return [
        f"last update    FAILED at {when}: {update.message or '(no message)'}",
        f"               the stack is in a failed update; its config asks for {asked}:",
        f"               retry (`pulumi up --stack {stack}`) or roll back "
        f"(`involution rollback --stack {stack}`)",
    ]


def hold_lines(config: dict[str, str], line: LineState, now: datetime) -> list[str]:
    """The project's line and the stack's freeze windows: what would hold a step forward."""
    lines = [f"line           {line.describe()}"]
    reader = ConfigReader(config, SECRET_KEYS)
    notices = freeze_notices(read_freeze(reader), now)
    lines += [f"freeze         {p.describe()}" for p in reader.problems]
    lines += [f"freeze         {notice}" for notice in notices]
    return lines


def print_status(release: ReleaseStack, now: datetime) -> None:
    print(f"stack          {release.name}")
    for line in status_lines(release.outputs(), now, load_last_analysis(release.name)):
        print(line)
    config = release.config()
    for line in update_lines(release.name, release.last_update(), config):
        print(line)
    for line in hold_lines(config, project_line(), now):
        print(line)


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
