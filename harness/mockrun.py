"""Run the real program under Pulumi mocks and record every resource it registers.

Shared by the unit tests, the golden files, the offline policy check and the render tool, so
all of them see exactly what `pulumi up` would send to the engine.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.sync_await import _sync_await

from harness.paths import PROJECT_DIR
from involution.contract import NAMESPACE, SECRET_KEYS

# Stands in for an encrypted value: the mocks cannot decrypt `secure:` config.
MOCK_SECRET = "mock-secret-value"
_cleanup_registered = False


@dataclass(frozen=True)
class RecordedResource:
    """A resource as the engine would receive it: wire names, numbers possibly floats."""

    type: str
    name: str
    inputs: Mapping[str, Any]
    custom: bool
    urn: str = ""
    parent: str = ""
    provider: str = ""  # "<provider urn>::<id>" of an explicit provider
    # Dotted paths of inputs that arrived as Pulumi secrets (encrypted in state).
    secret_paths: tuple[str, ...] = ()
    # URNs this resource waits for (depends_on plus the inputs' dependencies).
    dependencies: tuple[str, ...] = ()

    @property
    def metadata(self) -> Mapping[str, Any]:
        meta = self.inputs.get("metadata")
        return meta if isinstance(meta, Mapping) else {}

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1]


@dataclass
class MockRun:
    """What one mocked run produced."""

    stack: str
    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    # Stacks read through StackReferences, with the outputs they answered.
    references: dict[str, dict[str, Any]] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.custom and r.kind == kind]

    def by_urn(self, urn: str) -> RecordedResource:
        return next(r for r in self.resources if r.urn == urn)

    def waits_for(self, resource: RecordedResource) -> set[str]:
        """Logical names of everything `resource` waits for, directly or through its parents
        and the children of components it depends on (as the engine orders updates)."""
        names: set[str] = set()
        pending = list(resource.dependencies)
        current = resource
        while current.parent and current.parent.count("::") >= 3:
            try:
                current = self.by_urn(current.parent)
            except StopIteration:
                break
            pending.extend(current.dependencies)
        seen: set[str] = set()
        while pending:
            urn = pending.pop()
            if urn in seen:
                continue
            seen.add(urn)
            try:
                dependency = self.by_urn(urn)
            except StopIteration:
                continue
            names.add(dependency.name)
            pending.extend(r.urn for r in self.resources if r.parent == urn)
        return names

    def named(self, kind: str, name: str) -> RecordedResource:
        matches = [r for r in self.of_kind(kind) if r.metadata.get("name") == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} {kind} named {name!r}")
        return matches[0]


SIG_KEY = "4dabf18193072939515e22adb298388d"  # Pulumi's special-signature property key
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # ... and its value for a secret


def unwrap_secrets(value: Any, path: str, found: list[str]) -> Any:
    """Replace secret envelopes by their content, noting where they were."""
    if isinstance(value, Mapping):
        if value.get(SIG_KEY) == SECRET_SIG:
            found.append(path)
            return unwrap_secrets(value.get("value"), path, [])
        return {k: unwrap_secrets(v, f"{path}.{k}" if path else k, found) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v, f"{path}[{i}]", found) for i, v in enumerate(value)]
    return value


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Adds what MockResourceArgs leaves out: URN, parent and dependencies."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.run = mocks.run
        self.lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            return response
        # Registrations arrive on several threads: match by (type, name), unique in a stack.
        with self.lock:
            for index, recorded in enumerate(self.run.resources):
                if recorded.type == request.type and recorded.name == request.name:
                    self.run.resources[index] = replace(
                        recorded,
                        urn=response.urn,
                        parent=request.parent,
                        dependencies=tuple(request.dependencies),
                    )
                    break
        return response


STACK_REFERENCE = "pulumi:pulumi:StackReference"
READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs"


class RecordingMocks(pulumi.runtime.Mocks):
    """Echo inputs as state, naming auto-named Kubernetes objects the way the provider does.
    StackReferences answer with `stack_outputs` (stack name -> its last outputs)."""

    def __init__(
        self, run: MockRun, stack_outputs: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        self.run = run
        self.stack_outputs = dict(stack_outputs or {})

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        if args.typ == STACK_REFERENCE:
            qualified = str(args.inputs.get("name") or args.resource_id)
            outputs = self.stack_outputs.get(qualified.rsplit("/", 1)[-1], {})
            self.run.references[qualified] = dict(outputs)
            return qualified, {"name": qualified, "outputs": dict(outputs), "secretOutputNames": []}
        secret_paths: list[str] = []
        state = unwrap_secrets(dict(args.inputs), "", secret_paths)
        if args.custom and args.typ.startswith("kubernetes:"):
            metadata = dict(state.get("metadata") or {})
            if not metadata.get("name"):
                digest = hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode())
                metadata["name"] = f"{args.name}-{digest.hexdigest()[:8]}"
                state["metadata"] = metadata
        if args.typ == "docker:index/image:Image":
            # What a push returns: the repository pinned by the digest of what was built.
            digest = hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode())
            repository = str(state.get("imageName", "")).rsplit(":", 1)[0]
            state["repoDigest"] = f"{repository}@sha256:{digest.hexdigest()}"
        self.run.resources.append(
            RecordedResource(
                type=args.typ,
                name=args.name,
                inputs=state,
                custom=bool(args.custom),
                provider=args.provider or "",
                secret_paths=tuple(secret_paths),
            )
        )
        return f"{args.name}-id", state

    def call(
        self, args: pulumi_mocks.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == READ_STACK_OUTPUTS:  # as the engine: an unknown stack is an error
            qualified = str(args.args.get("name"))
            if qualified.rsplit("/", 1)[-1] not in self.stack_outputs:
                raise KeyError(f"unknown stack {qualified!r}")
        return {}, []


def _close_worker_loops() -> None:
    """The mock monitor gives each worker thread an event loop it never closes; close them
    before interpreter shutdown, which otherwise prints a spurious traceback per loop."""
    for candidate in gc.get_objects():
        if (
            isinstance(candidate, asyncio.AbstractEventLoop)
            and not candidate.is_running()
            and not candidate.is_closed()
        ):
            candidate.close()


def stack_file(stack: str, project_dir: Path = PROJECT_DIR) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


def load_stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """The `involution:` keys of Pulumi.<stack>.yaml as the engine passes them (JSON text for
    objects); encrypted values become a placeholder the mocks can carry."""
    document = yaml.safe_load(stack_file(stack, project_dir).read_text()) or {}
    config = document.get("config") or {}
    prefix = f"{NAMESPACE}:"
    raw: dict[str, str] = {}
    for key, value in config.items():
        if not key.startswith(prefix):
            continue
        raw[key[len(prefix) :]] = to_config_text(value)
    return raw


def _without_ciphertext(value: Any) -> Any:
    """Replace every `{secure: ...}` (top level or nested by `--path --secret`)."""
    if isinstance(value, Mapping):
        if set(value) == {"secure"}:
            return MOCK_SECRET
        return {k: _without_ciphertext(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_ciphertext(v) for v in value]
    return value


def to_config_text(value: Any) -> str:
    value = _without_ciphertext(value)
    if value == MOCK_SECRET:
        return MOCK_SECRET
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)


# Long enough ago that every soak is over.
SETTLED_FOR = timedelta(days=365)


def default_deployed(
    raw: Mapping[str, str], now: datetime | None, deployed: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What the stack last deployed: `deployed` when given (`{}` is a first deployment), else
    the configured release itself, settled for a year, so any phase renders as a stay."""
    if deployed is not None:
        return dict(deployed)
    since = (now or datetime.now(UTC)) - SETTLED_FOR
    return {
        "phase": raw.get("canaryPhase") or "none",
        "stableVersion": raw.get("stableVersion"),
        "canaryVersion": raw.get("canaryVersion") or None,
        "phaseSince": since.isoformat(),
    }


def default_upstream(raw: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The `promoteFrom` stack already runs, as stable, the version this config brings."""
    upstream = raw.get("promoteFrom")
    if not upstream:
        return {}
    version = raw.get("canaryVersion") or raw.get("stableVersion")
    return {upstream: {"phase": "none", "stableVersion": version}}


def run_program(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
    preview: bool = False,
    project_dir: Path = PROJECT_DIR,
    deployed: Mapping[str, Any] | None = None,
    upstream: Mapping[str, Mapping[str, Any]] | None = None,
) -> MockRun:
    """Run the program for a stack file plus overrides (a value of None removes the key)."""
    from program import deploy  # after mocks are set, as `pulumi up` would

    raw = load_stack_config(stack, project_dir)
    for key, value in (overrides or {}).items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = to_config_text(value)
    global _cleanup_registered  # noqa: PLW0603 (one atexit hook per process)
    if not _cleanup_registered:
        atexit.register(_close_worker_loops)
        _cleanup_registered = True
    run = MockRun(stack=stack)
    mocks = RecordingMocks(
        run, {**(upstream or default_upstream(raw)), stack: default_deployed(raw, now, deployed)}
    )
    pulumi.runtime.set_mocks(
        mocks, project=NAMESPACE, stack=stack, preview=preview, monitor=RecordingMonitor(mocks)
    )
    pulumi.runtime.set_all_config(
        {f"{NAMESPACE}:{k}": v for k, v in raw.items()},
        [f"{NAMESPACE}:{k}" for k in raw if k in SECRET_KEYS],
    )

    resolved: dict[str, Any] = {}

    async def program() -> None:
        outputs = deploy(now=now)
        resolved.update(await pulumi.Output.from_input(outputs).future() or {})

    pulumi.runtime.settings.SETTINGS.rpc_manager.clear()
    _sync_await(pulumi.runtime.stack.run_pulumi_func(program))
    run.outputs = resolved
    return run
