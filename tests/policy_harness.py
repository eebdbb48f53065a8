"""The policy pack for tests: one process per test session, configured per environment, and
helpers that craft violations by editing the resources of a mocked run."""

from __future__ import annotations

import atexit
import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from tests.conftest import NOW
from tools.policy_client import (
    CONFIG_DIR,
    PackResource,
    PolicyConfigEntry,
    PolicyPackProcess,
    PolicyReport,
    load_policy_config,
)

_PACK: list[PolicyPackProcess] = []
APPROVAL_POLICY = "production-approval-recorded"
# Advisories the program's own resources are allowed to draw (policy, Pulumi resource name):
# none today; an entry here is a known, accepted deviation.
KNOWN_ADVISORIES: frozenset[tuple[str, str]] = frozenset()


def shared_pack() -> PolicyPackProcess:
    """Started on first use, closed when the test process exits."""
    if not _PACK:
        pack = PolicyPackProcess(stack="production")
        pack.start()
        atexit.register(pack.close)
        _PACK.append(pack)
    return _PACK[0]


def environment_config(
    environment: str, extra: Mapping[str, Mapping[str, Any] | str] | None = None
) -> dict[str, PolicyConfigEntry]:
    """policies/config/<environment>.json with the tests' clock and `extra` entries on top."""
    config = load_policy_config(CONFIG_DIR / f"{environment}.json")
    approval = config.get(APPROVAL_POLICY, PolicyConfigEntry(None, {}))
    config[APPROVAL_POLICY] = PolicyConfigEntry(
        approval.level, {**approval.properties, "evaluationTime": NOW.isoformat()}
    )
    for name, value in (extra or {}).items():
        current = config.get(name, PolicyConfigEntry(None, {}))
        if isinstance(value, str):
            config[name] = PolicyConfigEntry(value, current.properties)
        else:
            props = dict(value)
            level = props.pop("enforcementLevel", None)
            config[name] = PolicyConfigEntry(
                level or current.level, {**current.properties, **props}
            )
    return config


def check(
    pack: PolicyPackProcess,
    resources: Iterable[PackResource],
    environment: str = "production",
    extra: Mapping[str, Mapping[str, Any] | str] | None = None,
) -> PolicyReport:
    pack.configure_stack(environment)
    pack.configure(environment_config(environment, extra))
    return pack.check(list(resources))


Edit = Callable[[dict[str, Any]], None]


def edit(resources: Iterable[PackResource], name: str, change: Edit) -> list[PackResource]:
    """A copy of the resources where the one named `name` (Pulumi name) has `change` applied
    to a deep copy of its properties."""
    result: list[PackResource] = []
    found = False
    for resource in resources:
        if resource.name == name:
            props = copy.deepcopy(dict(resource.props))
            change(props)
            result.append(replace(resource, props=props))
            found = True
        else:
            result.append(resource)
    if not found:
        raise KeyError(name)
    return result


def drop(resources: Iterable[PackResource], *names: str) -> list[PackResource]:
    kept = [r for r in resources if r.name not in names]
    return kept


def container(props: dict[str, Any], index: int = 0) -> dict[str, Any]:
    spec: dict[str, Any] = props["spec"]["template"]["spec"]["containers"][index]
    return spec


def pod(props: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = props["spec"]["template"]["spec"]
    return spec


def annotate(key: str, value: str) -> Edit:
    def change(props: dict[str, Any]) -> None:
        props["metadata"]["annotations"][f"involution.dev/{key}"] = value

    return change


def nginx_conf(props: dict[str, Any]) -> str:
    text: str = props["data"]["nginx.conf"]
    return text


def set_upstream(*servers: str) -> Edit:
    """Replace the server lines of the router's upstream."""

    def change(props: dict[str, Any]) -> None:
        conf = nginx_conf(props)
        start = conf.index("upstream involution_engine {")
        end = conf.index("}", start)
        lines = "".join(f"        server {server};\n" for server in servers)
        block = f"upstream involution_engine {{\n        zone involution_engine 64k;\n{lines}    "
        props["data"]["nginx.conf"] = conf[:start] + block + conf[end:]

    return change
