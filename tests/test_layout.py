"""Where code lives: tests, tools and benchmarks share harness/, and only tests/ imports tests;
the engine copy carries what `pulumi up` runs and no machine's secrets-provider settings."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from harness.engine import COPIED, without_secrets_provider

PROJECT_DIR = Path(__file__).resolve().parent.parent
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


# What `pulumi up` of a stack without analysis, image build or cluster (dev) must not import:
# each costs a tenth of a second to a second of every run (benchmarks.program_import times it).
HEAVY_ON_DEMAND = ("scipy", "pulumi_docker", "kubernetes")


def test_the_program_imports_heavy_libraries_only_where_used() -> None:
    code = (
        f"import sys, program; print(' '.join(m for m in {HEAVY_ON_DEMAND!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == []
