"""`python -m tools.release_plan`: the checks of the release workflow's validate job."""

from __future__ import annotations

from pathlib import Path

import pytest

from involution.config.release import GATE_NAMES
from tools import release_plan

pytestmark = pytest.mark.unit

PASSED = [f"--gate={name}=passed" for name in GATE_NAMES]


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = release_plan.main(list(arguments))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_minor_release_takes_the_canary_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "github-output"
    output.write_text("earlier=1\n")
    code, out, _ = run(
        capsys,
        "--version=v1.3.0",
        "--stack=staging",
        "--stack=production",
        *PASSED,
        f"--github-output={output}",
    )
    assert code == 0
    assert out.split() == ["kind_staging=minor", "kind_production=minor"]
    assert output.read_text() == "earlier=1\nkind_staging=minor\nkind_production=minor\n"


@pytest.mark.parametrize(
    ("version", "kind"), [("v1.2.3", "patch"), ("v2.0.0", "major"), ("v1.2.2", "current")]
)
def test_release_types(capsys: pytest.CaptureFixture[str], version: str, kind: str) -> None:
    code, out, _ = run(capsys, f"--version={version}", "--stack=staging", *PASSED)
    assert (code, out.strip()) == (0, f"kind_staging={kind}")


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("v1.3.0-rc.1", "is not a release tag vX.Y.Z"),
        ("1.3.0", "is not a release tag vX.Y.Z"),
        ("v1.03.0", "is not a release tag vX.Y.Z"),
        ("v1.2.1", "staging runs v1.2.2: v1.2.1 is older"),
    ],
)
def test_bad_versions_fail(capsys: pytest.CaptureFixture[str], version: str, message: str) -> None:
    code, out, err = run(capsys, f"--version={version}", "--stack=staging", *PASSED)
    assert (code, out) == (1, "")
    assert message in err


def test_every_gate_must_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "--version=v1.3.0",
        "--stack=staging",
        *PASSED[1:],
        "--gate=security=failed",
        "--gate=speed=passed",
    )
    assert (code, out) == (1, "")
    assert "gate codeQuality is ''" in err
    assert "gate security failed: every gate must pass" in err
    assert "unknown gate 'speed'" in err
