"""Where code lives: tests, tools and benchmarks share harness/, and only tests/ imports tests;
the engine copy carries what `pulumi up` runs and no machine's secrets-provider settings."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.program_import import HEAVY
from harness import layers
from harness.engine.project import COPIED, without_secrets_provider
from harness.paths import PROJECT_DIR

pytestmark = pytest.mark.unit

OUTSIDE_TESTS = ("harness", "tools", "benchmarks", "involution", "components", "program")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_nothing_outside_tests_imports_tests() -> None:
    offenders = [
        f"{path.relative_to(PROJECT_DIR)}: {name}"
        for folder in OUTSIDE_TESTS
        for path in sorted((PROJECT_DIR / folder).rglob("*.py"))
        for name in imported_modules(path)
        if name == "tests" or name.startswith("tests.")
    ]
    assert offenders == []


def test_the_harness_does_not_depend_on_pytest() -> None:
    """Benchmarks and tools run it without pytest: absent tools raise harness.ToolMissing."""
    for path in sorted((PROJECT_DIR / "harness").rglob("*.py")):
        assert "pytest" not in {name.split(".")[0] for name in imported_modules(path)}, path


def test_the_engine_copy_has_the_program_and_not_the_harness() -> None:
    assert {"program", "involution", "components", "policies", "__main__.py"} <= set(COPIED)
    assert "harness" not in COPIED
    program_imports = set().union(
        *(imported_modules(p) for p in (PROJECT_DIR / "program").rglob("*.py"))
    )
    assert not {name for name in program_imports if name.split(".")[0] == "harness"}


def test_the_engine_copy_drops_secrets_provider_lines() -> None:
    text = (
        "# comment\nconfig:\n  involution:environment: dev\n"
        "encryptionsalt: v1:abc=:v1:def:ghi==\nsecretsprovider: passphrase\n"
    )
    assert without_secrets_provider(text) == "# comment\nconfig:\n  involution:environment: dev\n"


# Each layer imports only the layers below it (docs/architecture.md, Layers).
FORBIDDEN = {
    "involution": {
        "pulumi",
        "pulumi_kubernetes",
        "pulumi_docker",
        "components",
        "program",
        "cli",
        "harness",
        "tools",
    },
    "components": {"program", "cli", "harness", "tools"},
    "program": {"cli", "harness", "tools"},
    "cli": {"harness", "tools", "components"},
}


def test_layers_import_only_downwards() -> None:
    offenders = [
        f"{path.relative_to(PROJECT_DIR)}: {name}"
        for folder, forbidden in FORBIDDEN.items()
        for path in sorted((PROJECT_DIR / folder).rglob("*.py"))
        # The command is named after the project: `python -m involution` reaches up to cli/.
        if path.relative_to(PROJECT_DIR).as_posix() != "involution/__main__.py"
        for name in imported_modules(path)
        if name.split(".")[0] in forbidden
    ]
    assert offenders == []


def test_the_program_imports_heavy_libraries_only_where_used() -> None:
    code = f"import sys, program; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == []


def module_marks(path: Path) -> list[str]:
    """The marks of a module's top-level `pytestmark` (one mark or a list of them)."""
    marks: list[str] = []
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytestmark" for target in node.targets
        ):
            values = node.value.elts if isinstance(node.value, ast.List) else [node.value]
            marks += [v.attr for v in values if isinstance(v, ast.Attribute)]
    return marks


def test_every_test_module_declares_exactly_one_layer() -> None:
    wrong = {
        path.name: marks
        for path in sorted((PROJECT_DIR / "tests").glob("test_*.py"))
        if len(marks := [m for m in module_marks(path) if m in layers.NAMES]) != 1
    }
    assert wrong == {}, f"declare one of {layers.NAMES} as `pytestmark = pytest.mark.<layer>`"


def test_every_layer_has_tests_and_a_make_target() -> None:
    declared = {
        mark for path in (PROJECT_DIR / "tests").glob("test_*.py") for mark in module_marks(path)
    }
    assert set(layers.NAMES) <= declared
    makefile = (PROJECT_DIR / "Makefile").read_text()
    assert f"\nLAYERS := {' '.join(layers.NAMES)}\n" in makefile


def test_a_test_without_a_layer_stops_the_run(tmp_path: Path) -> None:
    """Not silently one layer's: `make test-unit` would otherwise never run it, nor would any
    other `make test-<layer>`."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_unlayered.py").write_text("def test_something() -> None:\n    pass\n")
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "tests.layering", "-p", "no:cacheprovider"),
            *("-c", str(tmp_path / "pytest.ini"), "-m", "unit", str(tmp_path)),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "test_unlayered.py: none" in output


GROUPED = """
import os
import pytest

pytestmark = [pytest.mark.unit, pytest.mark.xdist_group("one")]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    with open(os.environ["SETUPS"], "a") as log:
        log.write(os.environ.get("PYTEST_XDIST_WORKER", "main") + "\\n")


@pytest.mark.parametrize("n", range(6))
def test_grouped(shared, n):
    pass
"""
SPREAD = """
import pytest

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("n", range(6))
def test_spread(n):
    pass
"""


def test_a_group_runs_on_one_worker_with_its_module_fixture_set_up_once(tmp_path: Path) -> None:
    """What `make test` relies on for a walked stack or a cluster shared by a module: under
    `-n 2 --dist loadgroup`, one worker and one setup."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "test_spread.py").write_text(SPREAD)
    setups = tmp_path / "setups.log"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "tests.layering", "-p", "no:cacheprovider"),
            *("-c", str(tmp_path / "pytest.ini"), "-n", "2", "--dist", "loadgroup", "-v"),
            str(tmp_path),
        ],
        cwd=PROJECT_DIR,
        env={**os.environ, "SETUPS": str(setups)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(setups.read_text().split()) == 1, result.stdout
    workers = {
        line.split()[0]
        for line in result.stdout.splitlines()
        if line.startswith("[gw") and "test_grouped" in line
    }
    assert len(workers) == 1, result.stdout
