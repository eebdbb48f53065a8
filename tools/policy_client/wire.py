"""Wire format: resources as the engine describes them to an analyzer.

Properties travel as a protobuf Struct: numbers become doubles, secrets are wrapped in
Pulumi's secret envelope (the engine marshals with KeepSecrets; the pack unwraps them, so
policies see plaintext) and unknown values are the engine's unknown sentinel (KeepUnknowns).
Analyze gets one resource's inputs; AnalyzeStack gets every resource (the engine sends final
outputs there; under mocks outputs are the inputs).

The only module that knows the mocked run's record format (`harness.mockrun`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf import struct_pb2  # type: ignore[import-untyped,unused-ignore]
from pulumi.output import Unknown as PulumiUnknown
from pulumi.runtime.proto import analyzer_pb2

from harness.mockrun import SECRET_SIG, SIG_KEY, MockRun

PROJECT = "involution"
# What the engine sends for a value it cannot know during preview (plugin.UnknownStringValue).
UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
LEVEL_OF_PROTO = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
PROTO_OF_LEVEL = {name: value for value, name in LEVEL_OF_PROTO.items()}


class Unknown:
    """Stands for a value unknown during preview in crafted resources."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = Unknown()


@dataclass(frozen=True)
class PackProvider:
    urn: str
    type: str
    name: str
    props: Mapping[str, Any]


@dataclass(frozen=True)
class PackResource:
    """One resource as the engine describes it to an analyzer."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    parent: str = ""
    provider: PackProvider | None = None
    dependencies: tuple[str, ...] = ()
    secret_paths: tuple[str, ...] = ()

    @property
    def resolved_urn(self) -> str:
        return self.urn or f"urn:pulumi:test::{PROJECT}::{self.type}::{self.name}"


def resources_from_run(run: MockRun) -> list[PackResource]:
    """The resources of a mocked run, with their explicit providers."""
    by_urn = {r.urn: r for r in run.resources if r.urn}
    resources: list[PackResource] = []
    for recorded in run.resources:
        provider: PackProvider | None = None
        if recorded.provider:
            provider_urn = recorded.provider.rsplit("::", 1)[0]
            source = by_urn.get(provider_urn)
            if source is not None:
                provider = PackProvider(
                    urn=provider_urn,
                    type=source.type,
                    name=source.name,
                    props=source.inputs,
                )
        resources.append(
            PackResource(
                type=recorded.type,
                name=recorded.name,
                props=recorded.inputs,
                urn=recorded.urn,
                parent=recorded.parent,
                provider=provider,
                dependencies=recorded.dependencies,
                secret_paths=recorded.secret_paths,
            )
        )
    return resources


def wire(value: Any) -> Any:
    """Plain JSON-able values; unknowns become the engine's sentinel."""
    if isinstance(value, (Unknown, PulumiUnknown)):
        return UNKNOWN_SENTINEL
    if isinstance(value, Mapping):
        return {str(k): wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [wire(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return str(value)


def _wrap_secret(document: dict[str, Any], path: str) -> None:
    """Wrap the value at a mockrun secret path (`stringData`, `data.redis.conf`, `a[0].b`) in
    Pulumi's secret envelope. Keys may hold dots, so each step takes the longest key that fits.
    """
    parent: Any = None
    key: Any = None
    node: Any = document
    rest = path
    while rest:
        if rest.startswith("["):
            close = rest.index("]")
            parent, key = node, int(rest[1:close])
            rest = rest[close + 1 :].removeprefix(".")
        else:
            fits = [k for k in node if rest == k or rest.startswith((f"{k}.", f"{k}["))]
            if not fits:
                raise KeyError(f"secret path {path!r} is not in the properties")
            parent, key = node, max(fits, key=len)
            rest = rest[len(key) :].removeprefix(".")
        node = parent[key]
    if parent is not None:
        parent[key] = {SIG_KEY: SECRET_SIG, "value": node}


def to_struct(props: Mapping[str, Any], secret_paths: Iterable[str] = ()) -> struct_pb2.Struct:
    """Properties as the engine marshals them for an analyzer."""
    document = wire(props)
    for path in secret_paths:
        _wrap_secret(document, path)
    struct = struct_pb2.Struct()
    struct.update(document)
    return struct


def _options(resource: PackResource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        parent=resource.parent,
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(),
    )


def _provider(resource: PackResource) -> analyzer_pb2.AnalyzerProviderResource | None:
    if resource.provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        urn=resource.provider.urn,
        type=resource.provider.type,
        name=resource.provider.name,
        properties=to_struct(resource.provider.props),
    )


def analyze_request(resource: PackResource) -> analyzer_pb2.AnalyzeRequest:
    request = analyzer_pb2.AnalyzeRequest(
        type=resource.type,
        name=resource.name,
        urn=resource.resolved_urn,
        properties=to_struct(resource.props, resource.secret_paths),
        options=_options(resource),
    )
    provider = _provider(resource)
    if provider is not None:
        request.provider.CopyFrom(provider)
    return request


def analyze_stack_request(resources: Sequence[PackResource]) -> analyzer_pb2.AnalyzeStackRequest:
    request = analyzer_pb2.AnalyzeStackRequest()
    for resource in resources:
        item = analyzer_pb2.AnalyzerResource(
            type=resource.type,
            name=resource.name,
            urn=resource.resolved_urn,
            properties=to_struct(resource.props, resource.secret_paths),
            options=_options(resource),
            parent=resource.parent,
            dependencies=list(resource.dependencies),
        )
        provider = _provider(resource)
        if provider is not None:
            item.provider.CopyFrom(provider)
        request.resources.append(item)
    return request
