"""Pack process: the policy pack started the way the Pulumi engine starts it, spoken to over
the Analyzer gRPC protocol, without the engine.

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
* Configure with the reconciled policy config (`config`), then Analyze per resource and
  AnalyzeStack with every resource (`wire`); the diagnostics come back as a `report`.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped,unused-ignore]
import yaml
from google.protobuf import (  # type: ignore[import-untyped,unused-ignore]
    empty_pb2,
    json_format,
    struct_pb2,
)
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2, engine_pb2_grpc

from tools.policy_client.config import (
    PACK_DIR,
    PolicyConfigEntry,
    PolicyInfo,
    PolicyPackError,
    reconcile_policy_config,
)
from tools.policy_client.report import PolicyReport, Violation, violations_of
from tools.policy_client.wire import (
    LEVEL_OF_PROTO,
    PROJECT,
    PROTO_OF_LEVEL,
    PackResource,
    analyze_request,
    analyze_stack_request,
    wire,
)


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
                level=LEVEL_OF_PROTO[policy.enforcementLevel],
                schema=schema,
                required=tuple(policy.configSchema.required),
                stack=policy.policy_type == analyzer_pb2.POLICY_TYPE_STACK,
            )
        self.initial_config = {
            name: PolicyConfigEntry(
                LEVEL_OF_PROTO[value.enforcementLevel],
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
            properties.update(wire(entry.properties))
            request.policyConfig[name].CopyFrom(
                analyzer_pb2.PolicyConfig(
                    enforcementLevel=PROTO_OF_LEVEL[entry.level or "advisory"],
                    properties=properties,
                )
            )
        self._analyzer.Configure(request)
        return self.config

    def analyze(self, resource: PackResource) -> list[Violation]:
        response = self._analyzer.Analyze(analyze_request(resource))
        return violations_of(response, urn=resource.resolved_urn, from_stack=False)

    def analyze_stack(self, resources: Sequence[PackResource]) -> list[Violation]:
        response = self._analyzer.AnalyzeStack(analyze_stack_request(resources))
        return violations_of(response, urn="", from_stack=True)

    def check(self, resources: Sequence[PackResource]) -> PolicyReport:
        """Every resource through Analyze, then the stack through AnalyzeStack."""
        report = PolicyReport()
        for resource in resources:
            report.violations += self.analyze(resource)
        report.violations += self.analyze_stack(resources)
        return report
