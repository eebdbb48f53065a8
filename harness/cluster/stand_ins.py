"""The stand-in engine versions the local cluster's images are built for, and their faults.

`tools.node_images` builds one `involution-engine:<version>` image per entry (the Go program
in images/engine, its faults baked into the image's environment), and the tests and
benchmarks pick their versions here: a healthy canary, and one that fails 5% of requests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Faults:
    """What a stand-in version does wrong: a share of 500 answers (spread evenly: exactly one
    in 100/error_percent), added latency per request, failed accuracy checks per minute."""

    error_percent: float = 0.0
    latency_ms: float = 0.0
    accuracy_failures_per_minute: float = 0.0

    def environment(self) -> dict[str, str]:
        """The image's environment variables the stand-in reads."""
        accuracy = self.accuracy_failures_per_minute
        return {
            "INVOLUTION_FAULT_ERROR_PERCENT": f"{self.error_percent:g}",
            "INVOLUTION_FAULT_LATENCY_MS": f"{self.latency_ms:g}",
            "INVOLUTION_FAULT_ACCURACY_FAILURES_PER_MINUTE": f"{accuracy:g}",
        }


HEALTHY = Faults()
# The stand-in names the version that answered (the track is in involution.nginx.conf.TRACK_HEADER).
VERSION_HEADER = "X-Involution-Version"

# The stable version of Pulumi.local.yaml and its neighbours.
EMERGENCY_ROLLBACK_VERSION = "v1.2.1"  # the release process's hand-made rollback (drift test)
STABLE_VERSION = "v1.2.2"
CANARY_VERSION = "v1.3.0"  # a healthy canary
NEXT_CANARY_VERSION = "v1.4.0"  # a healthy canary after v1.3.0's promotion
# Faulty canaries, newer than either stable.
ERRORS_VERSION = "v1.4.1"  # answers 5% of requests with a 500
SLOW_VERSION = "v1.4.2"  # 400 ms slower than stable (its p95 over the 300 ms trigger)
INACCURATE_VERSION = "v1.4.3"  # its accuracy checks fail, 6 a minute

ENGINE_VERSIONS: dict[str, Faults] = {
    EMERGENCY_ROLLBACK_VERSION: HEALTHY,
    STABLE_VERSION: HEALTHY,
    CANARY_VERSION: HEALTHY,
    NEXT_CANARY_VERSION: HEALTHY,
    ERRORS_VERSION: Faults(error_percent=5.0),
    SLOW_VERSION: Faults(latency_ms=400.0),
    INACCURATE_VERSION: Faults(accuracy_failures_per_minute=6.0),
}
