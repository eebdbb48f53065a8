"""User-facing config errors: one message, no traceback."""

from __future__ import annotations

from dataclasses import dataclass

CONFIG_HEADING = "invalid stack config"
PATH_HEADING = "the release path refuses this step"
CLUSTER_HEADING = "the target cluster cannot take this stack"


@dataclass(frozen=True)
class ConfigProblem:
    """One bad config value: which key, what it held, what would have been accepted."""

    key: str
    value: object
    allowed: str

    def describe(self) -> str:
        if self.value is None:
            shown = "<unset>"
        elif self.value == "[secret]":
            shown = "[secret]"  # the reader's stand-in for a secret value: never the value
        else:
            shown = repr(self.value)
        return f"involution:{self.key} = {shown}: {self.allowed}"


class ConfigError(ValueError):
    """Every problem of one stack's config, raised before any resource is registered.

    The wiring layer (`program.runtime_config`) re-raises it as a `pulumi.RunError`, which the
    engine prints without a traceback."""

    def __init__(self, problems: list[ConfigProblem], heading: str = CONFIG_HEADING) -> None:
        self.problems = tuple(problems)
        self.heading = heading
        lines = [p.describe() for p in problems]
        if len(lines) == 1:
            message = f"{heading}: {lines[0]}"
        else:
            message = f"{heading}:\n" + "\n".join(f"  - {line}" for line in lines)
        super().__init__(message)
