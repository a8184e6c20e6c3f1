"""One attempt's verdict on its backend, as the failover loop reports it to the backend table."""

from __future__ import annotations

import time
from typing import Any

import pytest

from policies import Candidate
from router.config import RouteCost
from router.dispatch import Route
from router.errors import BackendError
from router.failover import attempt_route
from router.ledger import RequestRecord
from router.table import BackendTable, BreakerConfig


def setup() -> tuple[BackendTable, Route]:
    table = BackendTable()
    table.add_backend("gpu", locality="local", max_concurrency=4,
                      breaker=BreakerConfig(failure_threshold=1))  # fmt: skip
    candidate = Candidate(
        route_index=0, backend="gpu", upstream_model="m", locality="local",
        prompt_price_per_mtok=0.0, completion_price_per_mtok=0.0, max_concurrency=4,
        context_length=8192,
    )  # fmt: skip
    backend: Any = None  # attempt_route hands the route to the attempt, which ignores it here
    return table, Route(candidate, backend, RouteCost(), "m")


async def test_a_client_that_left_mid_stream_is_no_verdict_on_the_backend() -> None:
    table, route = setup()
    record = RequestRecord(id="r1")

    async def stream_cut_by_the_client(route: Route) -> str:
        record.client_disconnected = True
        record.finish(499, "client_disconnected")
        return "response"

    assert await attempt_route(route, record, stream_cut_by_the_client, table) == "response"
    now = time.monotonic()
    assert table.admit("gpu", now), "a hang-up must not open the breaker"
    assert table.route_stats("gpu", now).in_flight == 0
    assert record.attempt_log is not None
    assert record.attempt_log[0]["status"] == 499


async def test_a_backend_failure_opens_the_breaker() -> None:
    table, route = setup()

    async def failing(route: Route) -> str:
        raise BackendError("backend 'gpu' broke")

    record = RequestRecord(id="r2")
    with pytest.raises(BackendError):
        await attempt_route(route, record, failing, table)
    assert not table.admit("gpu", time.monotonic())
    assert table.route_stats("gpu", time.monotonic()).state == "down"
