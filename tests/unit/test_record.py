"""A request's record and its ledger row: local token counts only for served requests, UTC times."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from router.config import RouteCost
from router.ledger.record import RequestRecord
from router.pricing import estimate_cost
from router.tokens import TOKENS_PER_MESSAGE

STARTED_AT = 1_700_000_000.0
MESSAGES = [{"role": "user", "content": "Hello world"}]  # 2 tokens + framing
PROMPT_TOKENS = TOKENS_PER_MESSAGE + 2
PARTS = ["Hello", " world"]  # "Hello world": 2 tokens
PRICE = RouteCost(prompt=1.0, completion=2.0, request=0.5)


def served(**fields: Any) -> RequestRecord:
    """A record of a request a backend answered, with no usage reported unless given."""
    defaults: dict[str, Any] = {
        "id": "chatcmpl-1",
        "started_at": STARTED_AT,
        "backend": "gpu-a",
        "attempts": 1,
        "prompt_messages": MESSAGES,
        "completion_parts": PARTS,
    }
    record = RequestRecord(**{**defaults, **fields})
    record.finish(fields.get("status", 200))
    return record


def test_finish_sets_status_error_code_and_latency() -> None:
    record = RequestRecord(
        id="r", started_at=STARTED_AT, started_monotonic=time.perf_counter() - 0.25
    )
    record.finish(502, "upstream_error")
    assert (record.status, record.error_code) == (502, "upstream_error")
    assert 250 <= record.latency_ms < 60_000
    assert record.finished_at == pytest.approx(STARTED_AT + record.latency_ms / 1000)


def test_finish_without_error_code_clears_it() -> None:
    record = RequestRecord(id="r", error_code="stale")
    record.finish(200)
    assert record.error_code is None


def test_elapsed_ms_counts_from_the_monotonic_start() -> None:
    record = RequestRecord(id="r", started_monotonic=time.perf_counter() - 1.5)
    assert 1500 <= record.elapsed_ms() < 60_000


def test_served_request_without_usage_is_counted_locally() -> None:
    row = served().to_row()
    assert row["prompt_tokens"] == PROMPT_TOKENS
    assert row["completion_tokens"] == 2
    assert row["tokens_counted_locally"] is True


def test_usage_from_the_backend_is_kept_and_not_recounted() -> None:
    row = served(prompt_tokens=100, completion_tokens=7).to_row()
    assert (row["prompt_tokens"], row["completion_tokens"]) == (100, 7)
    assert row["tokens_counted_locally"] is False


def test_only_the_missing_half_of_the_usage_is_counted() -> None:
    row = served(prompt_tokens=100).to_row()
    assert (row["prompt_tokens"], row["completion_tokens"]) == (100, 2)
    assert row["tokens_counted_locally"] is True


def test_nothing_to_count_from_leaves_tokens_unknown() -> None:
    row = served(prompt_messages=None, completion_parts=None).to_row()
    assert (row["prompt_tokens"], row["completion_tokens"]) == (None, None)
    assert row["tokens_counted_locally"] is False
    assert row["cost_usd"] is None


def test_empty_completion_counts_zero_tokens() -> None:
    assert served(completion_parts=[]).to_row()["completion_tokens"] == 0


@pytest.mark.parametrize("status", [400, 429, 499, 500, 502, 504])
def test_failed_requests_are_not_counted(status: int) -> None:
    row = served(status=status, completion_parts=None).to_row()
    assert (row["prompt_tokens"], row["completion_tokens"]) == (None, None)
    assert row["tokens_counted_locally"] is False
    assert row["status"] == status


@pytest.mark.parametrize("status", [499, 502])
def test_a_stream_cut_short_is_billed_for_what_was_generated(status: int) -> None:
    row = served(status=status, completion_parts=["Hello", " world"], price=PRICE).to_row()
    assert row["prompt_tokens"] == PROMPT_TOKENS
    assert row["completion_tokens"] == 2
    assert row["tokens_counted_locally"] is True
    assert row["cost_usd"] == estimate_cost(PROMPT_TOKENS, 2, PRICE)


def test_requests_that_never_reached_a_backend_are_not_counted() -> None:
    row = served(attempts=0, backend=None).to_row()
    assert row["prompt_tokens"] is None
    assert row["tokens_counted_locally"] is False


def test_cost_is_computed_from_the_route_price() -> None:
    row = served(prompt_tokens=1_000, completion_tokens=500, price=PRICE).to_row()
    assert row["cost_usd"] == pytest.approx(0.001 + 0.001 + 0.5)
    assert row["cost_usd"] == estimate_cost(1_000, 500, PRICE)


def test_cost_uses_locally_counted_tokens() -> None:
    row = served(price=PRICE).to_row()
    assert row["cost_usd"] == estimate_cost(PROMPT_TOKENS, 2, PRICE)


def test_unknown_completion_tokens_cost_nothing_beyond_the_prompt() -> None:
    row = served(prompt_tokens=1_000, completion_parts=None, price=PRICE).to_row()
    assert row["completion_tokens"] is None
    assert row["cost_usd"] == estimate_cost(1_000, 0, PRICE)


def test_no_price_means_no_cost() -> None:
    assert served(prompt_tokens=10, completion_tokens=10).to_row()["cost_usd"] is None


def test_timestamps_are_timezone_aware_utc_datetimes() -> None:
    row = served().to_row()
    for key in ("started_at", "finished_at"):
        assert isinstance(row[key], datetime)
        assert row[key].utcoffset() == timedelta(0)
    assert row["started_at"] == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert row["finished_at"] >= row["started_at"]


def test_unfinished_record_ends_when_it_started() -> None:
    row = RequestRecord(id="r", started_at=STARTED_AT).to_row()
    assert row["finished_at"] == row["started_at"]


def test_row_carries_every_ledger_column() -> None:
    log = [{"backend": "gpu-a", "status": 503}]
    record = served(
        key_id=3,
        model="llama",
        upstream_model="meta/llama",
        attempts=2,
        attempt_log=log,
        ttft_ms=12.5,
        streamed=True,
        client_disconnected=False,
    )
    row = record.to_row()
    assert set(row) == {
        "id", "key_id", "model", "backend", "upstream_model", "attempts", "attempt_log",
        "prompt_tokens", "completion_tokens", "tokens_counted_locally", "cost_usd", "ttft_ms",
        "latency_ms", "status", "error_code", "streamed", "client_disconnected", "started_at",
        "finished_at",
    }  # fmt: skip
    assert row["id"] == "chatcmpl-1"
    assert (row["key_id"], row["model"], row["upstream_model"]) == (3, "llama", "meta/llama")
    assert (row["attempts"], row["attempt_log"], row["ttft_ms"]) == (2, log, 12.5)
    assert (row["streamed"], row["client_disconnected"]) == (True, False)
    assert row["latency_ms"] == record.latency_ms


def test_building_the_row_twice_keeps_the_local_count_flag() -> None:
    record = served()
    first = record.to_row()
    assert first["tokens_counted_locally"] is True
    assert record.to_row() == first
