"""The ledger through a Postgres outage: nothing is written while it is down, nothing is lost.

The writer's engine reaches Postgres through a TCP proxy the tests cut and restore; the tests
check the table through a second engine that connects directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from router.db import create_engine, migrate
from router.ledger.record import RequestRecord
from router.ledger.spill import SpillFile
from router.ledger.writer import LedgerWriter
from tests.ledger.ledger_table import (
    as_utc,
    ledger_ids,
    ledger_rows,
    spilled_ids,
    wait_for_ledger_ids,
)
from tests.ledger.records import STARTED, served_record, served_records
from tests.ledger.writers import FAST_FLUSH_INTERVAL_S, RunningWriters
from tests.support.eventually import eventually
from tests.support.silent_server import SilentServer
from tests.support.tcp_proxy import TcpProxy

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
# The writer backs off up to 5 s between attempts, so recovery may take that long to be noticed.
RECOVERY_TIMEOUT_S = 20.0
OUTAGE_NOTICED_TIMEOUT_S = 5.0
ROWS = 500


@dataclass(frozen=True, slots=True)
class ProxiedPostgres:
    proxy: TcpProxy
    engine: AsyncEngine  # through the proxy: the writer's view, cut when the proxy stops
    direct: AsyncEngine  # straight to Postgres: the test's view, always up


@pytest.fixture
async def postgres(postgres_database_url: str) -> AsyncIterator[ProxiedPostgres]:
    direct = create_engine(postgres_database_url)
    await migrate(direct)
    proxy = TcpProxy(POSTGRES_HOST, POSTGRES_PORT)
    await proxy.start()
    proxied_url = make_url(postgres_database_url).set(port=proxy.port)
    engine = create_engine(proxied_url.render_as_string(hide_password=False))
    yield ProxiedPostgres(proxy=proxy, engine=engine, direct=direct)
    await engine.dispose()
    await proxy.stop()
    await direct.dispose()


async def write_one_while_up(writer: LedgerWriter, postgres: ProxiedPostgres) -> str:
    """Write a row through the proxy, so the writer's pool holds connections the outage kills."""
    writer.enqueue(served_record("before-outage"))
    await wait_for_ledger_ids(postgres.direct, ["before-outage"])
    return "before-outage"


async def test_rows_enqueued_while_the_database_is_down_arrive_exactly_once_after_it_returns(
    postgres: ProxiedPostgres, writers: RunningWriters
) -> None:
    writer = writers.start(postgres.engine, batch_rows=100)
    first = await write_one_while_up(writer, postgres)
    records = served_records("during-outage", ROWS)

    await postgres.proxy.stop()
    for record in records[: ROWS // 2]:
        writer.enqueue(record)
    await eventually(
        lambda: not writer.is_database_reachable,
        timeout_s=OUTAGE_NOTICED_TIMEOUT_S,
        message="the writer noticing the outage",
    )
    for record in records[ROWS // 2 :]:
        writer.enqueue(record)  # while the writer is backing off
    await eventually(lambda: writer.backlog == ROWS, timeout_s=1.0, message="backlog of all rows")
    assert await ledger_ids(postgres.direct) == [first]
    assert not writer.is_database_reachable
    assert not writers.default_spill_path.exists()

    await postgres.proxy.restart()

    await wait_for_ledger_ids(
        postgres.direct, [first, *(r.id for r in records)], timeout_s=RECOVERY_TIMEOUT_S
    )
    assert writer.is_database_reachable
    assert writer.backlog == 0
    assert writer.rows_flushed == ROWS + 1


async def test_rows_past_the_memory_bound_wait_in_the_spill_file_until_the_database_returns(
    postgres: ProxiedPostgres, writers: RunningWriters
) -> None:
    max_buffered_rows = 50
    writer = writers.start(postgres.engine, batch_rows=100, max_buffered_rows=max_buffered_rows)
    spill_path = writers.default_spill_path
    first = await write_one_while_up(writer, postgres)
    records = served_records("during-outage", ROWS)

    await postgres.proxy.stop()
    for record in records:
        writer.enqueue(record)
    await eventually(
        lambda: not writer.is_database_reachable and spill_path.exists(),
        timeout_s=OUTAGE_NOTICED_TIMEOUT_S,
        message="rows spilling while the database is down",
    )

    spilled = spilled_ids(spill_path)
    assert writer.backlog <= max_buffered_rows
    assert len(spilled) + writer.backlog == ROWS
    assert len(set(spilled)) == len(spilled)
    assert set(spilled) <= {r.id for r in records}
    assert await ledger_ids(postgres.direct) == [first]

    await postgres.proxy.restart()

    await wait_for_ledger_ids(
        postgres.direct, [first, *(r.id for r in records)], timeout_s=RECOVERY_TIMEOUT_S
    )
    await eventually(
        lambda: not spill_path.exists(), timeout_s=5.0, message="the spill file being removed"
    )
    assert writer.backlog == 0


async def test_close_while_the_database_is_down_spills_rows_the_next_writer_replays(
    postgres: ProxiedPostgres, writers: RunningWriters
) -> None:
    spill_path = writers.default_spill_path
    writer = writers.start(postgres.engine, batch_rows=100)
    first = await write_one_while_up(writer, postgres)
    detailed = RequestRecord(
        id="detailed",
        started_at=STARTED.timestamp(),
        key_id=3,
        model="llama-3.3-70b-instruct",
        backend="gpu-a",
        attempts=2,
        attempt_log=[{"backend": "gpu-b", "status": 503}, {"backend": "gpu-a", "status": 200}],
        prompt_tokens=10,
        completion_tokens=20,
        ttft_ms=41.5,
        latency_ms=300.25,
        status=200,
        streamed=True,
        client_disconnected=True,
        finished_at=STARTED.timestamp() + 0.30025,
    )
    records = [*served_records("during-outage", ROWS), detailed]

    await postgres.proxy.stop()
    for record in records:
        writer.enqueue(record)
    await eventually(
        lambda: not writer.is_database_reachable,
        timeout_s=OUTAGE_NOTICED_TIMEOUT_S,
        message="the writer noticing the outage",
    )
    await writer.close(timeout_s=5.0)

    assert sorted(spilled_ids(spill_path)) == sorted(r.id for r in records)
    assert writer.backlog == 0
    assert await ledger_ids(postgres.direct) == [first]

    await postgres.proxy.restart()
    writers.start(postgres.engine, batch_rows=100, spill_path=spill_path)

    await wait_for_ledger_ids(
        postgres.direct, [first, *(r.id for r in records)], timeout_s=RECOVERY_TIMEOUT_S
    )
    await eventually(
        lambda: not spill_path.exists(), timeout_s=5.0, message="the spill file being removed"
    )
    replayed = (await ledger_rows(postgres.direct))["detailed"]
    assert replayed["attempt_log"] == detailed.attempt_log
    assert (replayed["ttft_ms"], replayed["latency_ms"]) == (41.5, 300.25)
    assert (replayed["streamed"], replayed["client_disconnected"]) == (True, True)
    assert as_utc(replayed["started_at"]) == STARTED
    assert as_utc(replayed["finished_at"]) == STARTED + timedelta(microseconds=300_250)


async def test_a_writer_started_while_the_database_is_down_writes_once_it_returns(
    postgres: ProxiedPostgres, writers: RunningWriters
) -> None:
    await postgres.proxy.stop()
    writer = writers.start(postgres.engine, batch_rows=100)
    records = served_records("req", 50)
    for record in records:
        writer.enqueue(record)
    await eventually(
        lambda: not writer.is_database_reachable,
        timeout_s=OUTAGE_NOTICED_TIMEOUT_S,
        message="the writer noticing the outage",
    )

    await postgres.proxy.restart()

    await wait_for_ledger_ids(
        postgres.direct, [r.id for r in records], timeout_s=RECOVERY_TIMEOUT_S
    )
    assert writer.is_database_reachable


async def test_close_while_the_database_hangs_spills_every_row(tmp_path: Path) -> None:
    # A database that accepts connections and never answers (a partition, an overloaded host):
    # close() may wait `timeout_s`, then must keep every row it could not write.
    spill_path = tmp_path / "spill.jsonl"
    async with SilentServer() as hung:
        engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{hung.port}/ledger")
        writer = LedgerWriter(
            engine,
            flush_interval_s=FAST_FLUSH_INTERVAL_S,
            batch_rows=100,
            max_buffered_rows=10_000,
            spill_path=spill_path,
        )
        writer.start()
        try:
            records = served_records("req", 300)
            for record in records:
                writer.enqueue(record)
            await eventually(
                lambda: hung.connections_accepted > 0,
                timeout_s=5.0,
                message="the writer trying to insert",
            )

            await writer.close(timeout_s=0.5)

            lost = len({r.id for r in records} - set(spilled_ids(spill_path)))
            assert lost == 0, f"{lost} of {len(records)} rows are neither written nor spilled"
        finally:
            await writer.close(timeout_s=0.1)
            await engine.dispose()


async def test_rows_spilled_after_a_crash_tore_the_spill_file_are_not_lost(
    postgres: ProxiedPostgres, writers: RunningWriters, tmp_path: Path
) -> None:
    # A previous gateway crashed while appending to its spill file: the last line is cut short.
    spill_path = tmp_path / "spill.jsonl"
    SpillFile(spill_path).append([served_record(i).to_row() for i in ("whole", "torn")])
    spilled = spill_path.read_bytes()
    torn_line_length = len(spilled) - spilled.rstrip(b"\n").rfind(b"\n") - 1
    spill_path.write_bytes(spilled[: len(spilled) - torn_line_length // 2])

    # The gateway restarts while the database is still down, and spills more rows at shutdown.
    await postgres.proxy.stop()
    writer = writers.start(postgres.engine, batch_rows=100, spill_path=spill_path)
    records = served_records("after-crash", 10)
    for record in records:
        writer.enqueue(record)
    await eventually(
        lambda: not writer.is_database_reachable,
        timeout_s=OUTAGE_NOTICED_TIMEOUT_S,
        message="the writer noticing the outage",
    )
    await writer.close(timeout_s=5.0)

    await postgres.proxy.restart()
    writers.start(postgres.engine, batch_rows=100, spill_path=spill_path)
    await eventually(
        lambda: not spill_path.exists(),
        timeout_s=RECOVERY_TIMEOUT_S,
        message="the spill file being replayed",
    )

    # The torn row died with the crash; every row spilled afterwards must survive it.
    missing = {"whole", *(r.id for r in records)} - set(await ledger_ids(postgres.direct))
    assert missing == set()
