"""`python -m tools.policy_check`: the offline check CI and pull requests run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import NOW, VALID_APPROVAL
from tools import policy_check


def test_production_passes_with_placeholder_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    assert policy_check.main(["--stack", "production", "--placeholder-secrets"]) == 0
    out = capsys.readouterr().out
    assert "policy config" in out and "production.json" in out
    assert "0 mandatory" in out


def test_missing_secrets_are_a_config_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert policy_check.main(["--stack", "production"]) == 2
    assert "redisPassword" in capsys.readouterr().err


def test_a_mandatory_violation_fails_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    # The program accepts any ticket text; the production policy wants a change ticket id.
    approval = {**VALID_APPROVAL, "ticket": "asked in chat"}
    code = policy_check.main(
        [
            "--stack",
            "production",
            "--placeholder-secrets",
            "--set",
            "canaryVersion=v1.3.0",
            "--set",
            "canaryPhase=10",
            "--set",
            f"approval={json.dumps(approval)}",
            "--now",
            NOW.isoformat(),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1, out
    assert "mandatory production-approval-recorded" in out
    assert "engine-canary-deployment" in out


def test_policy_config_can_be_chosen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "strict.json"
    config.write_text(json.dumps({"recommended-labels": "mandatory"}))
    code = policy_check.main(
        ["--stack", "staging", "--placeholder-secrets", "--policy-config", str(config)]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "mandatory recommended-labels" in out


def test_placeholders_fill_only_what_is_missing() -> None:
    filled = policy_check.with_placeholders("production", {"redisPassword": "from-the-operator"})
    assert filled["redisPassword"] == "from-the-operator"
    assert filled["alerting"]["emailTo"].endswith(".example")
    assert "alerting" not in policy_check.with_placeholders("staging", {})
