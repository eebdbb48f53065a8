"""The README's own command blocks, as a shell script that runs them in order.

The blocks are the README's ```bash fences from "## Quick start" up to the heading that ends
the dev walk ("### Canary analysis"); `sh` fences are reference commands for other stacks and
are not run. Each command line is followed by a check of its exit status, so a failure stops
the script and names its block and line (bash's `set -e` would miss a failing `a` in `a && b`).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

FIRST_HEADING = "## Quick start"
LAST_HEADING = "### Canary analysis"
# The suite runs the README; `make test` inside it would run the suite again.
NOT_RUN = ("make test",)
_FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```\s*$", re.MULTILINE | re.DOTALL)
BLOCK_MARK = "::readme-block"
FAIL_MARK = "::readme-failed"


@dataclass(frozen=True)
class Block:
    """One ```bash fence: its number in the README (1-based, among those run) and commands."""

    number: int
    heading: str
    commands: tuple[str, ...]


def walk_blocks(readme: Path) -> list[Block]:
    text = readme.read_text()
    start = text.index(FIRST_HEADING)
    end = text.index(LAST_HEADING, start)
    section = text[start:end]
    blocks: list[Block] = []
    for match in _FENCE.finditer(section):
        if match.group("info").strip().split(" ")[0] != "bash":
            continue
        heading = _heading_before(section, match.start())
        commands = tuple(c for c in _commands(match.group("body")) if not _skipped(c))
        if commands:
            blocks.append(Block(number=len(blocks) + 1, heading=heading, commands=commands))
    return blocks


def script(blocks: list[Block], *, prelude: str = "") -> str:
    """One bash script running every block's commands in order, stopping at the first one
    that fails with a line naming it."""
    lines = [prelude] if prelude else []
    for block in blocks:
        lines.append(f"echo {shlex.quote(f'{BLOCK_MARK} {block.number}: {block.heading}')}")
        for index, command in enumerate(block.commands, 1):
            where = f"{FAIL_MARK} block {block.number} command {index}: {command}"
            lines.append(command)
            lines.append(
                f'__rc=$?; if [ "$__rc" -ne 0 ]; then echo {shlex.quote(where)}" (exit $__rc)" >&2;'
                ' exit "$__rc"; fi'
            )
    return "\n".join(lines) + "\n"


def _commands(body: str) -> list[str]:
    """Command lines, continuation lines joined; comments and blank lines dropped."""
    joined = body.replace("\\\n", " ")
    commands = []
    for raw in joined.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            commands.append(line)
    return commands


def _skipped(command: str) -> bool:
    bare = command.split("#", 1)[0].strip()
    return bare in NOT_RUN


def _heading_before(section: str, offset: int) -> str:
    headings = [m.group(0) for m in re.finditer(r"^#+ .*$", section[:offset], re.MULTILINE)]
    return headings[-1].lstrip("# ").strip() if headings else ""
