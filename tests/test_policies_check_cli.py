"""`python -m tools.policy_check`: the offline check CI and pull requests run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import policy_check

pytestmark = pytest.mark.policy


def test_production_passes_with_placeholder_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    assert policy_check.main(["--stack", "production", "--placeholder-secrets"]) == 0
    out = capsys.readouterr().out
    assert "policy config" in out and "production.json" in out
    assert "no policy violations" in out


def test_missing_secrets_are_a_config_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert policy_check.main(["--stack", "production"]) == 2
    assert "redisPassword" in capsys.readouterr().err


def test_a_mandatory_violation_fails_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    # Two engine pods pass the program's checks; production's policy wants three.
    code = policy_check.main(
        ["--stack", "production", "--placeholder-secrets", "--set", "engineReplicas=2"]
    )
    out = capsys.readouterr().out
    assert code == 1, out
    assert "mandatory minimum-replicas" in out
    assert "engine-stable-deployment" in out


def test_policy_config_can_be_chosen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["--stack", "staging", "--placeholder-secrets"]
    assert policy_check.main(arguments) == 0  # staging's own config: two pods are enough
    capsys.readouterr()
    config = tmp_path / "strict.json"
    config.write_text(
        json.dumps({"minimum-replicas": {"enforcementLevel": "mandatory", "minReplicas": 4}})
    )
    code = policy_check.main([*arguments, "--policy-config", str(config)])
    out = capsys.readouterr().out
    assert code == 1
    assert "mandatory minimum-replicas" in out


def test_placeholders_fill_only_what_is_missing() -> None:
    filled = policy_check.with_placeholders("production", {"redisPassword": "from-the-operator"})
    assert filled["redisPassword"] == "from-the-operator"
    assert filled["alerting"]["emailTo"].endswith(".example")
    assert "alerting" not in policy_check.with_placeholders("staging", {})
