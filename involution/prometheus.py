"""A small client for Prometheus's HTTP API: instant queries (`/api/v1/query`) only.

Every failure (unreachable, a status other than 200, `"status": "error"`, a body that is not the
API's JSON) is one `PrometheusError` naming the URL, so a caller has a single thing to catch and
a message an operator can act on. Timeouts are short: an analysis that cannot reach Prometheus
should say so quickly, not hang a release.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

TIMEOUT_SECONDS = 5.0
QUERY_PATH = "/api/v1/query"


class PrometheusError(Exception):
    """Prometheus could not answer a query; the message names the URL and the cause."""


@dataclass(frozen=True)
class Sample:
    """One element of an instant vector: its labels and value (NaN stays NaN)."""

    labels: Mapping[str, str] = field(default_factory=dict)
    value: float = math.nan


class PrometheusClient:
    """Instant queries against one Prometheus, e.g. `http://prometheus:9090`."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._timeout = timeout
        self._transport = transport

    def query(self, promql: str, at: datetime | None = None) -> list[Sample]:
        """The instant vector of `promql`, evaluated at `at` (Prometheus's now when None)."""
        endpoint = self.url + QUERY_PATH
        params: dict[str, str] = {"query": promql}
        if at is not None:
            params["time"] = f"{at.timestamp():.3f}"
        try:
            with httpx.Client(timeout=self._timeout, transport=self._transport) as client:
                response = client.get(endpoint, params=params)
        except httpx.HTTPError as e:
            raise PrometheusError(f"Prometheus at {self.url} is unreachable: {e!r}") from e
        body = _json(response, self.url)
        if response.status_code != httpx.codes.OK or body.get("status") != "success":
            error = body.get("error") or response.reason_phrase
            raise PrometheusError(
                f"Prometheus at {self.url} refused the query {promql!r}: "
                f"HTTP {response.status_code}: {error}"
            )
        return _vector(body.get("data"), self.url, promql)


def _json(response: httpx.Response, url: str) -> Mapping[str, Any]:
    try:
        body = response.json()
    except ValueError as e:
        raise PrometheusError(
            f"Prometheus at {url} answered HTTP {response.status_code} with a body that is not "
            f"JSON: {response.text[:200]!r}"
        ) from e
    if not isinstance(body, dict):
        raise PrometheusError(f"Prometheus at {url} answered JSON that is not an object: {body!r}")
    return body


def _vector(data: object, url: str, promql: str) -> list[Sample]:
    """The samples of a `vector` (or `scalar`) result; anything else is a PrometheusError."""
    bad = PrometheusError(f"Prometheus at {url} answered {promql!r} with an unexpected result")
    if not isinstance(data, dict):
        raise bad
    kind, result = data.get("resultType"), data.get("result")
    try:
        if kind == "scalar" and isinstance(result, list):
            return [Sample({}, float(result[1]))]
        if kind == "vector" and isinstance(result, list):
            return [
                Sample({str(k): str(v) for k, v in item["metric"].items()}, float(item["value"][1]))
                for item in result
            ]
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        raise bad from e
    raise bad
