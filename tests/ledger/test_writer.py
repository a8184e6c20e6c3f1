"""The ledger writer: requests only enqueue, a background task writes rows in batches."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from router.config import RouteCost
from router.ledger.record import RequestRecord
from tests.ledger.ledger_table import (
    as_utc,
    ledger_count,
    ledger_ids,
    ledger_rows,
    spilled_ids,
    wait_for_ledger_ids,
)
from tests.ledger.records import STARTED, served_record, served_records
from tests.ledger.writers import RunningWriters
from tests.support.eventually import eventually

# cl100k_base splits "Hello world" into "Hello" and " world"; a chat message adds 4 framing tokens.
HELLO_PROMPT = [{"role": "user", "content": "Hello world"}]
HELLO_PROMPT_TOKENS = 4 + 2
HELLO_COMPLETION_PARTS = ["Hello", " world"]
HELLO_COMPLETION_TOKENS = 2


async def test_enqueued_records_are_written_in_batches_by_the_background_task(
    engine: AsyncEngine, writers: RunningWriters
) -> None:
    writer = writers.start(engine, batch_rows=10)
    records = served_records("req", 25)

    for record in records:
        writer.enqueue(record)

    await wait_for_ledger_ids(engine, [r.id for r in records])
    assert writer.rows_flushed == 25
    assert writer.backlog == 0
    assert writer.is_database_reachable


async def test_a_full_batch_is_written_without_waiting_for_the_flush_interval(
    engine: AsyncEngine, writers: RunningWriters
) -> None:
    writer = writers.start(engine, flush_interval_s=60.0, batch_rows=10)
    full_batch = served_records("full", 10)
    for record in full_batch:
        writer.enqueue(record)

    await wait_for_ledger_ids(engine, [r.id for r in full_batch], timeout_s=5.0)

    for record in served_records("partial", 3):
        writer.enqueue(record)
    await asyncio.sleep(0.3)
    assert await ledger_count(engine) == 10
    assert writer.backlog == 3


async def test_close_writes_the_rows_still_pending(
    engine: AsyncEngine, writers: RunningWriters
) -> None:
    writer = writers.start(engine, flush_interval_s=60.0, batch_rows=100)
    records = served_records("pending", 5)
    for record in records:
        writer.enqueue(record)

    await writer.close()

    assert sorted(await ledger_ids(engine)) == [r.id for r in records]
    assert writer.backlog == 0
    assert not writers.default_spill_path.exists()


async def test_every_column_round_trips(engine: AsyncEngine, writers: RunningWriters) -> None:
    writer = writers.start(engine)
    failover_log = [
        {"backend": "gpu-a", "status": 503, "error_code": "overloaded", "latency_ms": 12.5},
        {"backend": "anthropic", "status": 200, "latency_ms": 830.0, "retried": True},
    ]
    served = RequestRecord(
        id="req-served",
        started_at=STARTED.timestamp(),
        key_id=7,
        model="llama-3.3-70b-instruct",
        backend="anthropic",
        upstream_model="claude-3-5-haiku-latest",
        attempts=2,
        attempt_log=failover_log,
        prompt_tokens=120,
        completion_tokens=45,
        ttft_ms=83.25,
        latency_ms=912.5,
        status=200,
        streamed=True,
        finished_at=STARTED.timestamp() + 0.9125,
        price=RouteCost(prompt=0.8, completion=4.0, request=0.001),
    )
    failed = RequestRecord(
        id="req-failed",
        started_at=STARTED.timestamp(),
        model="llama-3.3-70b-instruct",
        attempts=3,
        attempt_log=[{"backend": "gpu-a", "status": 502, "error_code": "bad_gateway"}] * 3,
        latency_ms=1500.0,
        status=502,
        error_code="upstream_unavailable",
        streamed=True,
        client_disconnected=True,
        finished_at=STARTED.timestamp() + 1.5,
        price=RouteCost(prompt=0.8, completion=4.0),
    )

    writer.enqueue(served)
    writer.enqueue(failed)
    await wait_for_ledger_ids(engine, ["req-served", "req-failed"])

    rows = await ledger_rows(engine)
    stored_served = rows["req-served"]
    assert {name: value for name, value in stored_served.items() if "_at" not in name} == {
        "id": "req-served",
        "key_id": 7,
        "model": "llama-3.3-70b-instruct",
        "backend": "anthropic",
        "upstream_model": "claude-3-5-haiku-latest",
        "attempts": 2,
        "attempt_log": failover_log,
        "prompt_tokens": 120,
        "completion_tokens": 45,
        "tokens_counted_locally": False,
        "cost_usd": pytest.approx((120 * 0.8 + 45 * 4.0) / 1_000_000 + 0.001),
        "ttft_ms": 83.25,
        "latency_ms": 912.5,
        "status": 200,
        "error_code": None,
        "streamed": True,
        "client_disconnected": False,
    }
    assert as_utc(stored_served["started_at"]) == STARTED
    assert as_utc(stored_served["finished_at"]) == STARTED + timedelta(microseconds=912_500)

    stored_failed = rows["req-failed"]
    assert {name: value for name, value in stored_failed.items() if "_at" not in name} == {
        "id": "req-failed",
        "key_id": None,
        "model": "llama-3.3-70b-instruct",
        "backend": None,
        "upstream_model": None,
        "attempts": 3,
        "attempt_log": [{"backend": "gpu-a", "status": 502, "error_code": "bad_gateway"}] * 3,
        "prompt_tokens": None,
        "completion_tokens": None,
        "tokens_counted_locally": False,
        "cost_usd": None,
        "ttft_ms": None,
        "latency_ms": 1500.0,
        "status": 502,
        "error_code": "upstream_unavailable",
        "streamed": True,
        "client_disconnected": True,
    }
    assert as_utc(stored_failed["started_at"]) == STARTED
    assert as_utc(stored_failed["finished_at"]) == STARTED + timedelta(seconds=1.5)


async def test_timestamps_come_back_in_utc_from_postgres(
    engine: AsyncEngine, writers: RunningWriters
) -> None:
    writer = writers.start(engine)
    writer.enqueue(served_record("req-utc"))
    await wait_for_ledger_ids(engine, ["req-utc"])

    stored = (await ledger_rows(engine))["req-utc"]

    if engine.dialect.name == "postgresql":
        assert stored["started_at"].utcoffset() == timedelta(0)
        assert stored["started_at"] == STARTED
    else:  # SQLite has no offset: the wall time stored must be the UTC one, not local time
        assert stored["started_at"].tzinfo is None
        assert stored["started_at"] == STARTED.replace(tzinfo=None)


async def test_tokens_are_counted_locally_when_the_backend_reported_no_usage(
    engine: AsyncEngine, writers: RunningWriters
) -> None:
    writer = writers.start(engine)
    record = served_record("req-no-usage")
    record.prompt_tokens = None
    record.completion_tokens = None
    record.prompt_messages = HELLO_PROMPT
    record.completion_parts = HELLO_COMPLETION_PARTS
    record.price = RouteCost(prompt=1.0, completion=2.0, request=0.5)

    writer.enqueue(record)
    await wait_for_ledger_ids(engine, ["req-no-usage"])

    stored = (await ledger_rows(engine))["req-no-usage"]
    assert stored["prompt_tokens"] == HELLO_PROMPT_TOKENS
    assert stored["completion_tokens"] == HELLO_COMPLETION_TOKENS
    assert stored["tokens_counted_locally"] is True
    assert stored["cost_usd"] == pytest.approx(
        (HELLO_PROMPT_TOKENS * 1.0 + HELLO_COMPLETION_TOKENS * 2.0) / 1_000_000 + 0.5
    )


async def test_reported_usage_is_kept_and_not_recounted(
    engine: AsyncEngine, writers: RunningWriters
) -> None:
    writer = writers.start(engine)
    record = served_record("req-usage")
    record.prompt_messages = HELLO_PROMPT
    record.completion_parts = HELLO_COMPLETION_PARTS

    writer.enqueue(record)
    await wait_for_ledger_ids(engine, ["req-usage"])

    stored = (await ledger_rows(engine))["req-usage"]
    assert (stored["prompt_tokens"], stored["completion_tokens"]) == (12, 34)
    assert stored["tokens_counted_locally"] is False


async def test_failed_requests_are_not_counted_locally(
    engine: AsyncEngine, writers: RunningWriters
) -> None:
    writer = writers.start(engine)
    record = served_record("req-failed")
    record.prompt_tokens = None
    record.completion_tokens = None
    record.prompt_messages = HELLO_PROMPT
    record.completion_parts = []
    record.status = 502
    record.error_code = "upstream_unavailable"

    writer.enqueue(record)
    await wait_for_ledger_ids(engine, ["req-failed"])

    stored = (await ledger_rows(engine))["req-failed"]
    assert (stored["prompt_tokens"], stored["completion_tokens"]) == (None, None)
    assert stored["tokens_counted_locally"] is False
    assert stored["cost_usd"] is None


async def test_the_same_row_id_enqueued_twice_is_stored_once(
    engine: AsyncEngine, writers: RunningWriters
) -> None:
    writer = writers.start(engine)
    first = served_record("req-twice")
    first.status = 200
    again = served_record("req-twice")
    again.status = 500

    writer.enqueue(first)
    writer.enqueue(again)  # in the same batch
    await wait_for_ledger_ids(engine, ["req-twice"])
    writer.enqueue(served_record("req-twice"))  # in a later batch
    writer.enqueue(served_record("req-after"))
    await wait_for_ledger_ids(engine, ["req-twice", "req-after"])

    assert sorted(await ledger_ids(engine)) == ["req-after", "req-twice"]
    assert (await ledger_rows(engine))["req-twice"]["status"] == 200


async def test_close_during_a_background_flush_loses_no_rows(
    engine: AsyncEngine, writers: RunningWriters
) -> None:
    # Rows whose tokens must be counted take the writer a while to build, off the event loop.
    records = served_records("req", 2000)
    for record in records:
        record.prompt_tokens = None
        record.completion_tokens = None
        record.prompt_messages = [{"role": "user", "content": "Hello world " * 200}]
        record.completion_parts = ["Hello world " * 200]
    writer = writers.start(engine, flush_interval_s=60.0, batch_rows=len(records))

    for record in records:
        writer.enqueue(record)  # a full batch: wakes the background task
    await eventually(lambda: writer.backlog == 0, timeout_s=5.0, interval_s=0.0005)
    # The background task has taken the records and is building their rows: shut down now.
    await writer.close()

    kept = set(await ledger_ids(engine)) | set(spilled_ids(writers.default_spill_path))
    lost = len({r.id for r in records} - kept)
    assert lost == 0, f"{lost} of {len(records)} rows are neither in the ledger nor spilled"


async def test_a_row_the_database_refuses_is_set_aside_without_holding_up_the_others(
    engine: AsyncEngine, writers: RunningWriters
) -> None:
    writer = writers.start(engine, batch_rows=10)
    good = served_records("good", 5)
    refused = served_record("refused")
    refused.latency_ms = None  # type: ignore[assignment]  # violates the column's NOT NULL
    for record in [*good[:2], refused, *good[2:]]:
        writer.enqueue(record)

    await wait_for_ledger_ids(engine, [r.id for r in good])
    assert writer.is_database_reachable
    rejected = writers.default_spill_path.with_suffix(".rejected.jsonl")
    await eventually(rejected.exists, timeout_s=5.0, message="the refused row is kept aside")
    assert [line for line in rejected.read_text().splitlines() if '"refused"' in line]
    assert writer.backlog == 0
