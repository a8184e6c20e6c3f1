"""Request records as the gateway builds them, for the ledger tests to enqueue."""

from __future__ import annotations

from datetime import UTC, datetime

from router.ledger.record import RequestRecord

STARTED = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)


def served_record(record_id: str) -> RequestRecord:
    """A request served on the first attempt, whose backend reported its usage."""
    return RequestRecord(
        id=record_id,
        started_at=STARTED.timestamp(),
        model="llama-3.3-70b-instruct",
        backend="gpu-a",
        upstream_model="meta-llama/Llama-3.3-70B-Instruct",
        attempts=1,
        prompt_tokens=12,
        completion_tokens=34,
        latency_ms=250.0,
        status=200,
        finished_at=STARTED.timestamp() + 0.25,
    )


def served_records(prefix: str, count: int) -> list[RequestRecord]:
    return [served_record(f"{prefix}-{index:05d}") for index in range(count)]
