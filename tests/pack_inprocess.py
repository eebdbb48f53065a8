"""The policy pack run in this process, without gRPC: each policy's `validate` called the way
pulumi_policy's Analyzer servicer calls it.

Properties take the engine's path (to_struct -> MessageToDict -> deserialize_properties ->
unknown_checking_proxy), so a policy sees doubles, unwrapped secrets and read-only proxies as
it does in the pack process; config is reconciled over the pack's own schemas like
`PolicyPackProcess.configure` does. Coverage measures the pack here; the gRPC tests check that
the process behaves the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format  # type: ignore[import-untyped,unused-ignore]
from involution_policies import POLICIES
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from tools.policy_client import (
    PackResource,
    PolicyConfigEntry,
    PolicyInfo,
    reconcile_policy_config,
    to_struct,
)


def pack_policies() -> dict[str, PolicyInfo]:
    """The pack's policies as GetAnalyzerInfo describes them."""
    infos: dict[str, PolicyInfo] = {}
    for policy in POLICIES:
        schema = policy.config_schema
        infos[policy.name] = PolicyInfo(
            name=policy.name,
            description=policy.description,
            level=(policy.enforcement_level or EnforcementLevel.MANDATORY).value,
            schema=dict(schema.properties) if schema else {},
            required=tuple(schema.required or ()) if schema else (),
            stack=isinstance(policy, StackValidationPolicy),
        )
    return infos


def _engine_props(props: Mapping[str, Any], secret_paths: Sequence[str] = ()) -> Any:
    document = json_format.MessageToDict(to_struct(props, secret_paths))
    return unknown_checking_proxy(deserialize_properties(document))


def _options(parent: str) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent or None
    )


@dataclass(frozen=True)
class Found:
    policy: str
    level: str
    message: str
    urn: str | None


@dataclass
class Report:
    found: list[Found] = field(default_factory=list)

    def of(self, policy: str) -> list[Found]:
        return [item for item in self.found if item.policy == policy]


def _level(entry: PolicyConfigEntry) -> str:
    level = entry.level or "advisory"
    return "mandatory" if level == "remediate" else level


def _config(entry: PolicyConfigEntry) -> dict[str, Any]:
    result: dict[str, Any] = json_format.MessageToDict(to_struct(entry.properties))
    return result


def _run(policy: Policy, level: str, args: Any, report: Report) -> None:
    def violation(message: str, urn: str | None = None) -> None:
        report.found.append(Found(policy.name, level, message, urn))

    assert isinstance(policy, (ResourceValidationPolicy, StackValidationPolicy))
    validate = policy.validate
    checks = validate if isinstance(validate, list) else [validate]
    for check in checks:
        assert check is not None
        check(args, violation)


def check(
    resources: Sequence[PackResource],
    given: Mapping[str, PolicyConfigEntry] | None = None,
) -> Report:
    """Every resource through each resource policy, then the stack through each stack policy."""
    config = reconcile_policy_config(pack_policies(), {}, given or {})
    report = Report()
    stack = [
        PolicyResource(
            r.type,
            _engine_props(r.props, r.secret_paths),
            r.resolved_urn,
            r.name,
            _options(r.parent),
            None,
            None,
            [],
            {},
        )
        for r in resources
    ]
    for policy in POLICIES:
        entry = config[policy.name]
        if entry.level == "disabled":
            continue
        if isinstance(policy, ResourceValidationPolicy):
            for resource, item in zip(resources, stack, strict=True):
                args = ResourceValidationArgs(
                    resource.type,
                    item.props,
                    resource.resolved_urn,
                    resource.name,
                    _options(resource.parent),
                    None,
                    _config(entry),
                )
                _run(policy, _level(entry), args, report)
        else:
            _run(policy, _level(entry), StackValidationArgs(stack, _config(entry)), report)
    return report
