"""A bad canary on real pods, rolled back by `involution watch` by itself: the canary's version
answers 5% of requests with a 500 (harness.cluster.stand_ins.ERRORS_VERSION), the cluster's
Prometheus scrapes that from the pods, the analysis finds the error-rate trigger and `watch`
rolls back. The time from the first bad request the load saw to the rollback deployed (the
watch's `pulumi up` returned) is measured and printed.

A stack of its own (the analysis reads the canary track of a namespace over its rate window:
a healthy canary walked just before would still be in it). Marker `pods`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.cluster.local import LocalCluster
from harness.cluster.pods import PodsRelease, watched_rollback
from harness.cluster.stand_ins import ERRORS_VERSION, STABLE_VERSION
from tests.pods_stack import BESIDE_ON_THE_NODE, pods_release, real_cluster

pytestmark = [pytest.mark.pods, BESIDE_ON_THE_NODE]  # one worker: tests/pods_stack.py says why

WATCH_INTERVAL = "5s"
# The release process's limit for an automatic rollback (docs/release-process.md).
RELEASE_PROCESS_LIMIT_SECONDS = 5 * 60


@pytest.fixture(scope="module")
def cluster() -> LocalCluster:
    return real_cluster()


@pytest.fixture(scope="module")
def release(
    cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PodsRelease]:
    yield from pods_release(cluster, tmp_path_factory.mktemp("watch"), "watch")


def test_watch_rolls_back_a_canary_failing_5_percent_by_itself(
    release: PodsRelease, capsys: pytest.CaptureFixture[str]
) -> None:
    release.up("first up")
    assert release.answer()[1:] == ("stable", STABLE_VERSION)
    with release.load():
        release.measure(200)
        watched = watched_rollback(release, ERRORS_VERSION, WATCH_INTERVAL)
        # Watch's `pulumi up` returns once the new router pods are available; the old ones
        # still answer their open keep-alive connections at the canary's weight through their
        # preStop sleep and graceful stop.
        settled = release.wait_settled()
        after = release.measure(release.share_sample())
    output = watched.watch_output.strip()
    assert watched.watch_exit == 0, output
    seconds = watched.first_bad_to_rollback_seconds
    assert seconds is not None, "the canary never failed a request"
    outputs = release.outputs()
    last = outputs["releaseLog"][-1]
    with capsys.disabled():
        print(
            f"\nbad canary {ERRORS_VERSION} (5% errors) at 10%, `involution watch --interval "
            f"{WATCH_INTERVAL}`:\n"
            f"  first bad request -> rollback deployed: {seconds:.1f}s (release process: "
            f"{RELEASE_PROCESS_LIMIT_SECONDS}s); canary up {watched.canary_up.seconds:.1f}s, "
            f"canary live -> rollback deployed {watched.live_to_rollback_seconds:.1f}s, "
            f"old pods gone {settled:.1f}s later\n"
            f"  load meanwhile: {watched.while_bad.describe()}\n"
            f"  watch: {output.splitlines()[-1] if output else ''}\n"
            f"  recorded: {last.get('reason', '')}"
        )
    assert seconds < RELEASE_PROCESS_LIMIT_SECONDS, seconds
    assert (outputs["phase"], last["step"]) == ("rollback", "rollback"), outputs["releaseLog"]
    assert "rollback trigger error-rate" in last.get("reason", ""), last
    # Failures stop with the rollback, which the router took first: once the old router pods
    # are gone, stable answers everything.
    assert after.failed == 0, after.describe()
    assert after.share("canary") == 0.0, after.describe()
    bad = watched.while_bad
    assert 0 < bad.failed < bad.total * 0.01, bad.describe()
