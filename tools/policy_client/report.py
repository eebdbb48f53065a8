"""Report: the pack's diagnostics as violations, and how they are printed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime.proto import analyzer_pb2

from tools.policy_client.wire import LEVEL_OF_PROTO


@dataclass(frozen=True)
class Violation:
    """One diagnostic of the pack."""

    policy: str
    level: str
    message: str  # what the policy reported, without the policy description
    urn: str  # "" for a stack violation not tied to a resource
    description: str
    from_stack: bool

    @property
    def resource(self) -> str:
        return self.urn.rsplit("::", 1)[-1] if self.urn else "(stack)"

    def describe(self) -> str:
        return f"{self.level:<9} {self.policy:<30} {self.resource:<32} {self.message}"


def violations_of(
    response: analyzer_pb2.AnalyzeResponse, *, urn: str, from_stack: bool
) -> list[Violation]:
    found: list[Violation] = []
    for diagnostic in response.diagnostics:
        message = diagnostic.message
        if message.startswith(diagnostic.description):
            message = message[len(diagnostic.description) :].lstrip("\n")
        found.append(
            Violation(
                policy=diagnostic.policyName,
                level=LEVEL_OF_PROTO.get(diagnostic.enforcementLevel, "advisory"),
                message=message or diagnostic.description,
                urn=diagnostic.urn or ("" if from_stack else urn),
                description=diagnostic.description,
                from_stack=from_stack,
            )
        )
    return found


@dataclass
class PolicyReport:
    violations: list[Violation] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level in ("mandatory", "remediate")]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "advisory"]

    def of(self, policy: str) -> list[Violation]:
        return [v for v in self.violations if v.policy == policy]


def print_report(report: PolicyReport, out: Any) -> None:
    """A table of the violations, mandatory first, then a count per level."""
    if not report.violations:
        print("no policy violations", file=out)
        return
    print(f"{'LEVEL':<9} {'POLICY':<30} {'RESOURCE':<32} MESSAGE", file=out)
    order = {"mandatory": 0, "remediate": 0, "advisory": 1}
    for violation in sorted(
        report.violations, key=lambda v: (order.get(v.level, 2), v.policy, v.resource)
    ):
        print(violation.describe(), file=out)
    print(
        f"{len(report.mandatory)} mandatory, {len(report.advisory)} advisory violation(s)",
        file=out,
    )
