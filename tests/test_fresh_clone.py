"""The README's two commands on a fresh clone, in either order, leave a clean tree.

`make deploy` keeps this machine's secrets-provider salt out of the tracked stack files
(scripts/pulumi.sh runs pulumi with --config-file on a copy next to the state), and the engine
tests copy the committed config without any salt, so neither command breaks the other.

Each clone is of HEAD, with its own state folder and passphrase (never the user's `.state/` or
~/.config/involution/passphrase) and a venv of its own (harness.engine.fresh_clone: its packages are
borrowed, so nothing is downloaded, but scripts/venv.sh and the editable install really run in
the clone). No tracked file may be written, not even with the same content: the editable
install once rewrote a tracked `involution_delivery.egg-info/SOURCES.txt`. "make test" is
represented by the engine tests that init the dev stack
from the copied Pulumi.dev.yaml (the ones an `encryptionsalt` in it broke); the whole suite
would run this test again inside itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.engine.fresh_clone import FreshClone, make_clone
from harness.engine.project import SECRETS_PROVIDER_KEYS, engine_bin
from tests.tooling import or_missing

pytestmark = pytest.mark.engine

ENGINE_TESTS = (
    "tests/test_engine.py::test_dev_stack_deploys_in_render_mode_and_a_second_up_changes_nothing",
    "tests/test_engine.py::test_preview_with_the_policy_pack_passes[dev]",
)


class Clone:
    """A fresh clone whose own venv really runs scripts/venv.sh (the editable install of the
    `involution` command included), with its own state folder and passphrase."""

    def __init__(self, base: Path) -> None:
        or_missing(engine_bin)
        self.state = base / "state"
        self.clone: FreshClone = or_missing(
            lambda: make_clone(
                base,
                env_extra={
                    "PULUMI_BACKEND_URL": f"file://{self.state}",
                    "INVOLUTION_PASSPHRASE_FILE": str(base / "passphrase"),
                },
            )
        )
        self.root = self.clone.root
        self.tracked = self.clone.tracked_files()

    def run(self, *command: str) -> str:
        result = self.clone.run(*command, timeout=1200)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}:\n{output}"
        return output

    def deploy(self) -> str:
        return self.run("make", "deploy")

    def engine_tests(self) -> str:
        return self.run(
            "venv/bin/python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *ENGINE_TESTS
        )

    def assert_clean(self, after: str) -> None:
        status = self.clone.status()
        assert status == [], f"after {after}: git status --porcelain:\n{status}"
        written = {
            name
            for name, stamp in self.clone.tracked_files().items()
            if self.tracked.get(name) != stamp
        }
        assert not written, f"after {after}: tracked files written: {sorted(written)}"
        for stack_file in self.root.glob("Pulumi.*.yaml"):
            for key in SECRETS_PROVIDER_KEYS:
                assert f"\n{key}:" not in "\n" + stack_file.read_text(), stack_file


def test_test_deploy_test_deploy(tmp_path: Path) -> None:
    """Both orders, each command twice, on one fresh clone. The engine tests work in temp
    folders of their own and leave the clone's state and tracked files as cloned, so the first
    `make deploy` after them is a first deploy on a fresh clone (it must create the stack)."""
    clone = Clone(tmp_path)
    assert "passed" in clone.engine_tests()
    clone.assert_clean("engine tests")
    first = clone.deploy()
    assert "created" in first, first
    clone.assert_clean("engine tests, make deploy")
    assert "passed" in clone.engine_tests()
    clone.assert_clean("engine tests, make deploy, engine tests")
    second = clone.deploy()
    assert "unchanged" in second and " created" not in second, second
    clone.assert_clean("engine tests, make deploy, engine tests, make deploy")
    # The salt lives next to this clone's own state, not in the user's `.state/`.
    assert list((clone.state / "stack-config").glob("Pulumi.dev.*"))
