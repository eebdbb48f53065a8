"""harness.yaml_load: Kubernetes YAML read as the API server reads it, by libyaml's parser."""

from __future__ import annotations

import pytest
import yaml

from harness import yaml_load

pytestmark = pytest.mark.unit

MATCHERS = """\
kind: AlertmanagerConfig
spec:
  route:
    matchers:
      - name: severity
        matchType: =
        value: page
---
enum: [=, "!=", =~]
"""


def test_a_bare_equals_sign_is_a_string_where_pyyamls_safe_loader_fails() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="value"):
        list(yaml.safe_load_all(MATCHERS))
    first, second = yaml_load.load_all(MATCHERS)
    assert first["spec"]["route"]["matchers"][0]["matchType"] == "="
    assert second == {"enum": ["=", "!=", "=~"]}
    assert yaml_load.load("a: 1\nb: true\nc: 2026-12-04\n")["c"].isoformat() == "2026-12-04"


def test_the_parser_is_libyamls() -> None:
    """The wheels pinned in requirements ship libyaml; the pure-Python parser took ten times
    as long over the operator's CRDs."""
    assert yaml.__with_libyaml__
    assert issubclass(yaml_load.KubernetesYamlLoader, yaml.CSafeLoader)
