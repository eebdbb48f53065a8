"""The layers as pytest sees them (harness/layers.py): markers, one layer per test, a ceiling
per test, coverage where it is measured, a layer that cannot run here said once, and the
slowest layers scheduled first.

Loaded by tests/conftest.py as a plugin. Under xdist the decisions that change what is
collected are taken once, by the controller before its workers start, and handed to them in
the environment, so every worker collects the same tests.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Generator, Iterator
from typing import Any

import pytest
from _pytest.nodeid import coerce_node_id

from harness.layers import LAYERS, NAMES, layer

# {layer: why it cannot run here}, decided by the controller (or the only process).
ABSENT_ENV = "INVOLUTION_TEST_LAYERS_ABSENT"
# Slowest first: the long chains (a cluster, the README walk, engine walks) start at once on
# their own worker while the short tests fill the other one and the tail.
RUN_ORDER = tuple(reversed(NAMES))


def layers_of(item: pytest.Item) -> set[str]:
    return {mark.name for mark in item.iter_markers() if mark.name in NAMES}


def _may_select(config: pytest.Config, name: str) -> bool:
    """Whether `-m` can select the layer (a `-m unit` run need not ask about the cluster)."""
    expression = str(config.option.markexpr or "")
    return not expression or name in expression


def pytest_configure(config: pytest.Config) -> None:
    for each in LAYERS:
        config.addinivalue_line("markers", f"{each.name}: {each.runs}")
    config.pluginmanager.register(_AfterSelection(), "involution-layers-after-selection")
    if hasattr(config, "workerinput"):
        return  # a worker: the controller decided
    absent = {
        each.name: reason
        for each in LAYERS
        if each.needs is not None
        and _may_select(config, each.name)
        and (reason := each.needs()) is not None
    }
    os.environ[ABSENT_ENV] = json.dumps(absent)


def _check_one_layer_each(items: list[pytest.Item]) -> None:
    wrong: dict[str, set[str]] = {}
    for item in items:
        found = layers_of(item)
        if len(found) != 1:
            wrong.setdefault(item.location[0], set()).update(found)
    if wrong:
        lines = [
            f"  {module}: {', '.join(sorted(found)) or 'none'}"
            for module, found in sorted(wrong.items())
        ]
        raise pytest.UsageError(
            "each test module declares exactly one layer, `pytestmark = pytest.mark.<layer>` "
            f"with <layer> one of {', '.join(NAMES)}; these do not:\n" + "\n".join(lines)
        )


def _stand_in_for_absent(config: pytest.Config, items: list[pytest.Item]) -> list[pytest.Item]:
    """A layer that cannot run here keeps one test, skipped with the reason and the count (one
    line in the summary, and never pytest's exit 5 for `make test-<layer>`)."""
    absent: dict[str, str] = json.loads(os.environ.get(ABSENT_ENV) or "{}")
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    stood_in: set[str] = set()
    for item in items:
        (name,) = layers_of(item)
        if name not in absent:
            kept.append(item)
        elif name in stood_in:
            dropped.append(item)
        else:
            stood_in.add(name)
            kept.append(item)
    for item in kept:
        (name,) = layers_of(item)
        if name in absent:
            count = sum(1 for i in items if layers_of(i) == {name})
            reason = f"{name} layer not run here ({count} tests; CI=true runs it): {absent[name]}"
            item.add_marker(pytest.mark.skip(reason=reason))
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    return kept


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Before `-m` deselects anything: a module without a layer fails every run, not only
    the runs that would have selected it."""
    _check_one_layer_each(items)
    for item in items:
        (name,) = layers_of(item)
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(layer(name).timeout))
        if not layer(name).covered:
            item.add_marker(pytest.mark.no_cover)  # pytest-cov pauses its tracer


@contextlib.contextmanager
def _untraced(item: pytest.Item) -> Iterator[None]:
    """pytest-cov's tracer paused, when it runs and `item` is a test it does not measure."""
    controller: Any = getattr(item.config.pluginmanager.getplugin("_cov"), "cov_controller", None)
    if item.get_closest_marker("no_cover") is None or not getattr(controller, "started", False):
        yield
        return
    controller.pause()
    try:
        yield
    finally:
        controller.resume()


# pytest-cov pauses its tracer for the call of a `no_cover` test only, while the walks, stacks
# and servers of those layers are fixtures: traced for no figure (the README walk and the dev
# report walk side by side took 218 s of CPU under --cov before, 211 s after; 182 s without).
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    with _untraced(item):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    with _untraced(item):
        yield


class _AfterSelection:
    """After `-m`: the stand-ins for absent layers, then the run order."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        items[:] = _stand_in_for_absent(config, items)
        # Stable: a module's tests stay together and in order (module fixtures set up once).
        items.sort(key=_run_order)
        if hasattr(config, "workerinput") and config.getvalue("loadgroup"):
            _name_groups(items)


def _name_groups(items: list[pytest.Item]) -> None:
    """`--dist loadgroup` sends the tests whose node id ends in `@<group>` to one worker.
    pytest-xdist 3.8 appends the suffix by setting `item._nodeid`, which pytest 9 no longer
    reads (a node id is `str(item._id)`), so every test went to any worker and a module
    fixture ran once per worker; this sets it where pytest 9 reads it."""
    for item in items:
        groups = sorted(
            {
                str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                for m in item.iter_markers("xdist_group")
            }
        )
        if groups and "@" not in item.nodeid.rsplit("]", 1)[-1]:
            item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(groups)}")


def _run_order(item: pytest.Item) -> tuple[int, int]:
    """Slowest layer first and, in a layer, the groups first: a group is one long chain on
    one worker (a walked stack, a cluster), best started while the other worker has work."""
    (name,) = layers_of(item)
    return RUN_ORDER.index(name), 0 if item.get_closest_marker("xdist_group") else 1
