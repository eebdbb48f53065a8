"""Run the policy pack the way the Pulumi engine does, without the engine.

    with PolicyPackProcess(stack="production") as pack:
        pack.configure(load_policy_config(CONFIG_DIR / "production.json"))
        report = pack.check(resources_from_run(run))

What the engine does, and this module repeats (checked against pulumi/pulumi's
`analyzer_plugin.go`, `resource/analyzer/config.go` and the `pulumi-analyzer-policy-python`
shim, and against pulumi_policy 1.21.0):

* start: `<virtualenv>/bin/python -u -m pulumi.policy <engine-address> .` with the pack
  directory as working directory, the `virtualenv` of PulumiPolicy.yaml's runtime options
  resolved against it, and PULUMI_PROJECT, PULUMI_STACK, PULUMI_DRY_RUN (and
  PULUMI_ORGANIZATION) in the environment; the pack prints its gRPC port on its first line.
  The engine address is a gRPC Engine service for logs: a small fake one is served here.
* Handshake (tolerated UNIMPLEMENTED, as the engine does), ConfigureStack, GetAnalyzerInfo.
* policy config: `--policy-pack-config` JSON (`{"<policy>": "<level>" | {"enforcementLevel":
  ..., <props>}, "all": ...}`) reconciled over the schema defaults and the pack's initial
  config, `all` first, then per policy; validated against each policy's schema; sent with
  Configure. Stricter than the engine on one point: a key that is no policy of the pack, or a
  property no schema declares, is an error, so a typo cannot silently weaken a policy.
* Analyze per resource (its inputs) and AnalyzeStack with every resource (the engine sends
  final outputs there; under mocks outputs are the inputs). Properties travel as a protobuf
  Struct: numbers become doubles, secrets are wrapped in Pulumi's secret envelope (the engine
  marshals with KeepSecrets; the pack unwraps them, so policies see plaintext) and unknown
  values are the engine's unknown sentinel (KeepUnknowns).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped,unused-ignore]
import yaml
from google.protobuf import (  # type: ignore[import-untyped,unused-ignore]
    empty_pb2,
    json_format,
    struct_pb2,
)
from pulumi.output import Unknown as PulumiUnknown
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2, engine_pb2_grpc

from involution.mockrun import SECRET_SIG, SIG_KEY, MockRun

PROJECT_DIR = Path(__file__).resolve().parent.parent
PACK_DIR = PROJECT_DIR / "policies"
CONFIG_DIR = PACK_DIR / "config"
PROJECT = "involution"

# What the engine sends for a value it cannot know during preview (plugin.UnknownStringValue).
UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
LEVELS = ("advisory", "mandatory", "remediate", "disabled")
_LEVEL_OF_PROTO = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
_PROTO_OF_LEVEL = {name: value for value, name in _LEVEL_OF_PROTO.items()}


class Unknown:
    """Stands for a value unknown during preview in crafted resources."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = Unknown()


class PolicyPackError(RuntimeError):
    """The pack did not start, or the policy config does not fit its schemas."""


# ------------------------------------------------------------------ resources -----


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


def _wire(value: Any) -> Any:
    """Plain JSON-able values; unknowns become the engine's sentinel."""
    if isinstance(value, (Unknown, PulumiUnknown)):
        return UNKNOWN_SENTINEL
    if isinstance(value, Mapping):
        return {str(k): _wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire(v) for v in value]
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
    document = _wire(props)
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


# ------------------------------------------------------------------ results -----


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


def _violations(
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
                level=_LEVEL_OF_PROTO.get(diagnostic.enforcementLevel, "advisory"),
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


# ------------------------------------------------------------------ policy config -----


@dataclass(frozen=True)
class PolicyConfigEntry:
    """One entry of a policy config: an enforcement level and/or properties."""

    level: str | None
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    level: str
    schema: Mapping[str, Any]
    required: tuple[str, ...]
    stack: bool


def parse_policy_config(document: Mapping[str, Any]) -> dict[str, PolicyConfigEntry]:
    """A `--policy-pack-config` document, read as the engine reads it."""
    config: dict[str, PolicyConfigEntry] = {}
    for name, value in document.items():
        level: str | None = None
        properties: dict[str, Any] = {}
        if isinstance(value, str):
            level = value
        elif isinstance(value, Mapping):
            properties = dict(value)
            raw_level = properties.pop("enforcementLevel", None)
            if raw_level is not None and not isinstance(raw_level, str):
                raise PolicyPackError(f"{name}: enforcementLevel must be a string")
            level = raw_level
        else:
            raise PolicyPackError(f"{name}: {value!r} is not a valid value; a string or object")
        if level is not None and level not in LEVELS:
            raise PolicyPackError(f"{name}: {level!r} is not a valid enforcement level")
        if level is None and not properties:
            continue
        config[name] = PolicyConfigEntry(level, properties)
    return config


def load_policy_config(path: Path) -> dict[str, PolicyConfigEntry]:
    text = path.read_text()
    if not text.strip():
        return {}
    return parse_policy_config(json.loads(text))


def _schema_errors(value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    """The JSON Schema keywords the pack's config schemas use."""
    errors: list[str] = []
    expected = schema.get("type")
    checks = {
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: (
            isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer()
        ),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, Mapping),
        "null": lambda v: v is None,
    }
    if expected is not None:
        types = expected if isinstance(expected, list) else [expected]
        if not any(checks[t](value) for t in types):
            return [f"{where}: {value!r} is not of type {expected}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: {value} is below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: {value} is above the maximum {schema['maximum']}")
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            errors += _schema_errors(item, schema["items"], f"{where}[{index}]")
    if isinstance(value, Mapping):
        properties: Mapping[str, Any] = schema.get("properties") or {}
        additional = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                errors += _schema_errors(item, properties[key], f"{where}.{key}")
            elif additional is False:
                errors.append(f"{where}: unknown property {key!r}")
            elif isinstance(additional, Mapping):
                errors += _schema_errors(item, additional, f"{where}.{key}")
        errors += [f"{where}: {key} is required" for key in schema.get("required", ())]
    return errors


def reconcile_policy_config(
    policies: Mapping[str, PolicyInfo],
    initial: Mapping[str, PolicyConfigEntry],
    given: Mapping[str, PolicyConfigEntry],
) -> dict[str, PolicyConfigEntry]:
    """Schema defaults, then the pack's initial config, then the given config; `all` sets the
    level of every policy before per-policy entries apply (the engine's ReconcilePolicyPackConfig).
    """
    unknown = sorted(set(given) - set(policies) - {"all"})
    if unknown:
        raise PolicyPackError(f"policy config names no policy of the pack: {', '.join(unknown)}")
    result = {
        name: PolicyConfigEntry(
            info.level,
            {key: prop["default"] for key, prop in info.schema.items() if "default" in prop},
        )
        for name, info in policies.items()
    }
    for layer in (initial, given):
        everything = layer.get("all")
        if everything is not None and everything.level is not None:
            result = {
                name: PolicyConfigEntry(everything.level, e.properties)
                for name, e in result.items()
            }
        for name, entry in layer.items():
            if name == "all" or name not in result:
                continue
            current = result[name]
            result[name] = PolicyConfigEntry(
                entry.level or current.level, {**current.properties, **entry.properties}
            )
    errors: list[str] = []
    for name, entry in result.items():
        info = policies[name]
        schema = {
            "type": "object",
            "properties": info.schema,
            "required": list(info.required),
            "additionalProperties": False,
        }
        errors += _schema_errors(dict(entry.properties), schema, name)
    if errors:
        raise PolicyPackError("policy config does not fit the pack: " + "; ".join(errors))
    return result


# ------------------------------------------------------------------ the engine side -----


class _FakeEngine(engine_pb2_grpc.EngineServicer):
    """The engine's logging endpoint a plugin is given; keeps what the pack logs."""

    def __init__(self) -> None:
        self.logs: list[tuple[int, str]] = []

    def Log(self, request: engine_pb2.LogRequest, context: Any) -> empty_pb2.Empty:  # noqa: N802
        self.logs.append((request.severity, request.message))
        return empty_pb2.Empty()


def pack_project(pack_dir: Path) -> Mapping[str, Any]:
    """PulumiPolicy.yaml of a pack."""
    document = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text()) or {}
    if not isinstance(document, Mapping):
        raise PolicyPackError(f"{pack_dir / 'PulumiPolicy.yaml'} is not a mapping")
    return document


def pack_python(pack_dir: Path) -> str:
    """The interpreter the engine's shim would use: `<virtualenv>/bin/python` of the pack's
    runtime options, relative to the pack directory; this interpreter when none is set or
    the venv does not exist here."""
    runtime = pack_project(pack_dir).get("runtime")
    options = runtime.get("options") if isinstance(runtime, Mapping) else None
    virtualenv = options.get("virtualenv") if isinstance(options, Mapping) else None
    if isinstance(virtualenv, str) and virtualenv:
        python = (pack_dir / virtualenv / "bin" / "python").absolute()
        if python.exists():
            return str(python)
    return sys.executable


class PolicyPackProcess:
    """The pack in its own process, spoken to over the Analyzer protocol."""

    def __init__(
        self,
        pack_dir: Path = PACK_DIR,
        *,
        stack: str = "dev",
        project: str = PROJECT,
        dry_run: bool = True,
        startup_timeout: float = 60.0,
    ) -> None:
        self.pack_dir = pack_dir
        self.stack = stack
        self.project = project
        self.dry_run = dry_run
        self.startup_timeout = startup_timeout
        self.engine = _FakeEngine()
        self._engine_server: Any = None
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: Any = None
        self._stderr: list[bytes] = []
        self.stub: analyzer_pb2_grpc.AnalyzerStub | None = None
        self.policies: dict[str, PolicyInfo] = {}
        self.initial_config: dict[str, PolicyConfigEntry] = {}
        self.name = ""
        self.version = ""
        self.config: dict[str, PolicyConfigEntry] = {}

    # -- lifecycle --

    def __enter__(self) -> PolicyPackProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        engine_pb2_grpc.add_EngineServicer_to_server(self.engine, server)
        engine_port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._engine_server = server
        python = pack_python(self.pack_dir)
        env = {
            **os.environ,
            "PULUMI_PROJECT": self.project,
            "PULUMI_STACK": self.stack,
            "PULUMI_DRY_RUN": "true" if self.dry_run else "false",
            "PULUMI_ORGANIZATION": "organization",
            "PATH": f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        env.pop("PYTHONHOME", None)
        self._process = subprocess.Popen(
            [python, "-u", "-m", "pulumi.policy", f"127.0.0.1:{engine_port}", "."],
            cwd=self.pack_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self._process.stdout is not None and self._process.stderr is not None
        first_line: queue.Queue[bytes] = queue.Queue()
        stdout, stderr = self._process.stdout, self._process.stderr

        def read_stdout() -> None:
            first_line.put(stdout.readline())
            for _ in iter(stdout.readline, b""):
                pass

        def read_stderr() -> None:
            for line in iter(stderr.readline, b""):
                self._stderr.append(line)

        threading.Thread(target=read_stdout, daemon=True).start()
        threading.Thread(target=read_stderr, daemon=True).start()
        try:
            line = first_line.get(timeout=self.startup_timeout)
        except queue.Empty:
            line = b""
        port = line.decode().strip()
        if not port.isdigit():
            self.close()
            raise PolicyPackError(
                f"the policy pack did not print its port (got {line!r}):\n{self.stderr}"
            )
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        self._handshake(f"127.0.0.1:{engine_port}")
        self.configure_stack(self.stack)
        self._load_info()

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._engine_server is not None:
            self._engine_server.stop(0)
            self._engine_server = None

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr).decode(errors="replace")

    @property
    def _analyzer(self) -> analyzer_pb2_grpc.AnalyzerStub:
        if self.stub is None:
            raise PolicyPackError("the policy pack is not running")
        return self.stub

    # -- the engine's calls --

    def _handshake(self, engine_address: str) -> None:
        request = analyzer_pb2.AnalyzerHandshakeRequest(
            engine_address=engine_address,
            root_directory=str(self.pack_dir),
            program_directory=str(self.pack_dir),
        )
        try:
            self._analyzer.Handshake(request)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise

    def configure_stack(self, stack: str, config: Mapping[str, str] | None = None) -> None:
        """Stack, project and stack config, as the engine sends them after start."""
        self.stack = stack
        request = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=stack,
            project=self.project,
            organization="organization",
            dry_run=self.dry_run,
            config=dict(config or {}),
        )
        try:
            self._analyzer.ConfigureStack(request)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise

    def _load_info(self) -> None:
        info = self._analyzer.GetAnalyzerInfo(empty_pb2.Empty())
        # As the engine does: PulumiPolicy.yaml's version wins over the one the pack reports.
        self.name = info.name
        self.version = str(pack_project(self.pack_dir).get("version") or info.version)
        self.policies = {}
        for policy in info.policies:
            schema = json_format.MessageToDict(policy.configSchema.properties)
            self.policies[policy.name] = PolicyInfo(
                name=policy.name,
                description=policy.description,
                level=_LEVEL_OF_PROTO[policy.enforcementLevel],
                schema=schema,
                required=tuple(policy.configSchema.required),
                stack=policy.policy_type == analyzer_pb2.POLICY_TYPE_STACK,
            )
        self.initial_config = {
            name: PolicyConfigEntry(
                _LEVEL_OF_PROTO[value.enforcementLevel],
                json_format.MessageToDict(value.properties),
            )
            for name, value in info.initialConfig.items()
        }

    def configure(
        self, config: Mapping[str, PolicyConfigEntry] | None = None
    ) -> dict[str, PolicyConfigEntry]:
        """Reconcile a policy config with the pack's schemas and send it (Configure)."""
        self.config = reconcile_policy_config(self.policies, self.initial_config, config or {})
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, entry in self.config.items():
            properties = struct_pb2.Struct()
            properties.update(_wire(entry.properties))
            request.policyConfig[name].CopyFrom(
                analyzer_pb2.PolicyConfig(
                    enforcementLevel=_PROTO_OF_LEVEL[entry.level or "advisory"],
                    properties=properties,
                )
            )
        self._analyzer.Configure(request)
        return self.config

    def analyze(self, resource: PackResource) -> list[Violation]:
        response = self._analyzer.Analyze(analyze_request(resource))
        return _violations(response, urn=resource.resolved_urn, from_stack=False)

    def analyze_stack(self, resources: Sequence[PackResource]) -> list[Violation]:
        response = self._analyzer.AnalyzeStack(analyze_stack_request(resources))
        return _violations(response, urn="", from_stack=True)

    def check(self, resources: Sequence[PackResource]) -> PolicyReport:
        """Every resource through Analyze, then the stack through AnalyzeStack."""
        report = PolicyReport()
        for resource in resources:
            report.violations += self.analyze(resource)
        report.violations += self.analyze_stack(resources)
        return report
