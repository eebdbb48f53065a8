"""Container requests and limits per component (`resources`), over the defaults below.

The defaults fit a production node. A stack on a small cluster (the one-node local cluster of
`make cluster`) asks for less so that its pods, at the peak of a release (stable and canary
at full capacity plus the rollout's surge pod), still fit the node beside another stack's.
Requests are what the scheduler reserves; limits what the kernel enforces. Redis is sized by
`redisMaxMemoryMb` instead (its memory limit follows maxmemory).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

from involution.config.reader import ConfigReader


@dataclass(frozen=True)
class ContainerResources:
    """Requests and limits of one container, as Kubernetes quantities."""

    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def as_spec(self) -> dict[str, Any]:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


ENGINE_RESOURCES = ContainerResources(
    cpu_request="250m", memory_request="256Mi", cpu_limit="1", memory_limit="512Mi"
)
ROUTER_RESOURCES = ContainerResources(
    cpu_request="100m", memory_request="64Mi", cpu_limit="500m", memory_limit="128Mi"
)
RESOLVER_RESOURCES = ContainerResources(
    cpu_request="100m", memory_request="128Mi", cpu_limit="500m", memory_limit="256Mi"
)


@dataclass(frozen=True)
class ResourceSettings:
    engine: ContainerResources = ENGINE_RESOURCES
    router: ContainerResources = ROUTER_RESOURCES
    time_resolver: ContainerResources = RESOLVER_RESOURCES


KEY = "resources"
# config field -> (ResourceSettings attribute, what it sizes)
COMPONENTS = {
    "engine": ("engine", "each engine pod, stable and canary"),
    "router": ("router", "each nginx traffic router pod"),
    "timeResolver": ("time_resolver", "each time-resolver pod"),
}
SECTIONS = ("requests", "limits")
QUANTITIES = ("cpu", "memory")
# Kubernetes quantities, as `kubectl` writes them: CPU in cores or millicores; memory in bytes
# with a binary (Ki..Ti) or decimal (k..T) suffix.
_CPU = re.compile(r"(?:\d+(?:\.\d+)?|\.\d+)m?")
_MEMORY = re.compile(r"\d+(?:\.\d+)?(?:Ki|Mi|Gi|Ti|k|M|G|T)?")
ALLOWED = {
    "cpu": "a CPU quantity greater than 0, e.g. 250m or 1",
    "memory": "a memory quantity greater than 0, e.g. 256Mi or 1Gi",
}
_SUFFIXES = {
    "m": Decimal("0.001"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
}


def quantity(text: str) -> Decimal:
    """The value of a quantity that matched _CPU or _MEMORY (cores or bytes)."""
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix):
            return Decimal(text[: -len(suffix)]) * _SUFFIXES[suffix]
    return Decimal(text)


def read_resources(reader: ConfigReader) -> ResourceSettings:
    """`resources`: {engine|router|timeResolver: {requests|limits: {cpu, memory}}}; every
    field optional, the rest from the defaults. A request over its limit is a problem."""
    allowed = {name: what for name, (_, what) in COMPONENTS.items()}
    record = reader.fields(KEY, allowed).record
    settings = ResourceSettings()
    for name, (attribute, _) in COMPONENTS.items():
        given = record.get(name)
        if given is None:
            continue
        sized = _component(reader, f"{KEY}.{name}", given, getattr(settings, attribute))
        settings = replace(settings, **{attribute: sized})
    return settings


def _component(
    reader: ConfigReader, key: str, given: object, default: ContainerResources
) -> ContainerResources:
    if not _object_of(reader, key, given, SECTIONS):
        return default
    assert isinstance(given, dict)
    values = asdict(default)
    set_here: set[str] = set()
    for section in SECTIONS:
        fields = given.get(section)
        if fields is None or not _object_of(reader, f"{key}.{section}", fields, QUANTITIES):
            continue
        assert isinstance(fields, dict)
        for resource in QUANTITIES:
            value = fields.get(resource)
            if value is None:
                continue
            text = _quantity_text(value)
            pattern = _CPU if resource == "cpu" else _MEMORY
            if text is None or not pattern.fullmatch(text) or quantity(text) <= 0:
                reader.problem(f"{key}.{section}.{resource}", value, ALLOWED[resource])
                continue
            values[_field(resource, section)] = text
            set_here.add(f"{section}.{resource}")
    for resource in QUANTITIES:
        request, limit = values[_field(resource, "requests")], values[_field(resource, "limits")]
        if quantity(request) > quantity(limit):
            # Named after what this stack set: its request, else its limit.
            section = "requests" if f"requests.{resource}" in set_here else "limits"
            reader.problem(
                f"{key}.{section}.{resource}",
                values[_field(resource, section)],
                f"a {resource} request ({request}) at most its limit ({limit}): a container "
                "may not request more than its limit",
            )
            return default
    return ContainerResources(**values)


def _field(resource: str, section: str) -> str:
    """`cpu`, `requests` -> `cpu_request`: the ContainerResources field."""
    return f"{resource}_{section.removesuffix('s')}"


def _object_of(reader: ConfigReader, key: str, value: object, fields: tuple[str, ...]) -> bool:
    """Whether `value` is an object of only `fields`; a problem for each way it is not."""
    if not isinstance(value, dict):
        reader.problem(key, value, f"an object of {', '.join(fields)}")
        return False
    unknown = sorted(set(value) - set(fields))
    for name in unknown:
        reader.problem(f"{key}.{name}", value[name], f"a field of {key}: {', '.join(fields)}")
    return not unknown


def _quantity_text(value: object) -> str | None:
    """A quantity as config gives it: text, or a plain number (`cpu: 1`)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return format(Decimal(str(value)), "f")
    return value.strip() if isinstance(value, str) else None
