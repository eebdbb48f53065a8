"""`involution stop-the-line` and `involution resume` write release-line.json in the project
they work on; stopping twice, or resuming a running line, is nothing to do."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli import exit_codes, line_verbs
from cli.main import main, parser
from cli.output import hold_lines
from involution.release.line import LINE_FILE, RUNNING, parse_line

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INVOLUTION_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("GITHUB_ACTOR", "ana.release")
    (tmp_path / LINE_FILE).write_text(RUNNING.text())
    return tmp_path


def run(*argv: str) -> int:
    return line_verbs.run(parser().parse_args(argv), now=NOW)


def test_stop_then_resume(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("stop-the-line", "--reason", "INC-42: error budget spent") == exit_codes.OK
    record = json.loads((project / LINE_FILE).read_text())
    assert record == {
        "stopped": True,
        "reason": "INC-42: error budget spent",
        "by": "ana.release",
        "at": "2026-12-01T10:00:00Z",
    }
    assert (
        "the line is stopped since 2026-12-01T10:00:00Z by ana.release" in capsys.readouterr().out
    )
    assert run("stop-the-line", "--reason", "again") == exit_codes.NOTHING_TO_DO
    assert "nothing to do: the line is stopped" in capsys.readouterr().err
    assert run("resume", "--reason", "INC-42 resolved", "--by", "raj.sre") == exit_codes.OK
    line = parse_line((project / LINE_FILE).read_text())
    assert line.running and (line.by, line.reason) == ("raj.sre", "INC-42 resolved")
    assert run("resume", "--reason", "again") == exit_codes.NOTHING_TO_DO


def test_resume_repairs_an_unreadable_line(project: Path) -> None:
    (project / LINE_FILE).write_text("{stopped: no}")
    assert run("resume", "--reason", "file repaired") == exit_codes.OK
    assert parse_line((project / LINE_FILE).read_text()).running


def test_a_reason_is_required(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["stop-the-line"])
    assert usage.value.code == exit_codes.USAGE
    assert run("stop-the-line", "--reason", "  ") == exit_codes.USAGE
    assert json.loads((project / LINE_FILE).read_text()) == {"stopped": False}


def test_main_dispatches_without_a_stack(project: Path) -> None:
    assert main(["stop-the-line", "--reason", "drill"]) == exit_codes.OK
    assert not parse_line((project / LINE_FILE).read_text()).running


def test_status_shows_the_line_and_the_freeze(project: Path) -> None:
    config = {"freeze": "Fri 16:00 - Mon 08:00 Europe/Berlin"}
    lines = hold_lines(config, line_verbs.project_line(), NOW)
    assert lines == [
        "line           the line runs",
        "freeze         next release freeze: Fri 16:00 - Mon 08:00 Europe/Berlin (weekly "
        "release freeze) from 2026-12-04T16:00:00+01:00 until 2026-12-07T08:00:00+01:00 "
        "(starts in 3d5h)",
    ]
    bad = hold_lines({"freeze": "weekends"}, line_verbs.project_line(), NOW)
    assert bad[1].startswith("freeze         involution:freeze = 'weekends': a weekly recurrence")
