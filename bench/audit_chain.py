"""Audit append throughput on PostgreSQL: the hash chain against plain inserts of the same rows.

Run with ``uv run python bench/audit_chain.py``. Uses ``AEGIS_BENCH_DATABASE_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/aegis_bench``): the database is dropped if it exists,
created, migrated, measured, and dropped again. Both sides write one row per transaction through
``Database.transaction()`` and a prebuilt Core statement; the plain table is a copy of ``audit_log``'s columns and
indexes without the chain (no head row, no hashing, no triggers). Goal: chained/plain >= 0.5.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import cast

import asyncpg
from sqlalchemy import MetaData, Table, text
from sqlalchemy.engine import URL, make_url

from storage import migrate
from storage.audit import AuditEvent, AuditLog, ChainKey, verify_chain
from storage.db import Database
from storage.models import AuditRow
from storage.models.base import utcnow

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/aegis_bench"
PLAIN = "bench_plain_log"
ROWS = 400  # per repetition and side
REPS = 7
GOAL = 0.5


# The same columns as ``audit_log``, as a Core table: plain rows go in with one prebuilt INSERT,
# the way ``AuditLog.append`` writes its row, so the difference measured is the chain alone.
PLAIN_TABLE = cast(Table, AuditRow.__table__).to_metadata(MetaData(), name=PLAIN)
PLAIN_INSERT = PLAIN_TABLE.insert()


def _event(i: int) -> AuditEvent:
    return AuditEvent(
        actor="agent:mail",
        action="mail.read",
        result="ok",
        resource=f"message/{i}",
        source_ip="127.0.0.1",
        user_agent="aegis-bench/1",
        trace_id=f"{i:032x}",
        details={"folder": "inbox", "bytes": 1024 + i},
    )


def _plain_row(seq: int, ev: AuditEvent) -> dict[str, object]:
    """The values the chained side would store, minus the chain (fixed placeholder hashes)."""
    return {
        "seq": seq,
        "ts": utcnow(),
        "actor": ev.actor,
        "action": ev.action,
        "resource": ev.resource,
        "source_ip": ev.source_ip,
        "user_agent": ev.user_agent,
        "trace_id": ev.trace_id,
        "result": ev.result,
        "reason": ev.reason,
        "details": json.dumps(dict(ev.details), sort_keys=True, separators=(",", ":")),
        "prev_hash": "0" * 64,
        "row_hash": "0" * 64,
    }


async def _admin(url: URL, sql: str) -> None:
    conn = await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database="postgres",
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _timed(n: int, write: Callable[[int], Awaitable[None]], start: int) -> float:
    began = time.perf_counter()
    for i in range(start, start + n):
        await write(i)
    return n / (time.perf_counter() - began)


async def bench(db: Database) -> None:
    key = ChainKey(os.urandom(32))
    log = AuditLog(lambda v: v, key=key)

    async def chained(i: int) -> None:
        async with db.transaction() as s:
            await log.append(s, _event(i))

    async def plain(i: int) -> None:
        async with db.transaction() as s:
            await s.execute(PLAIN_INSERT, _plain_row(i, _event(i)))

    await _timed(50, chained, 1)  # warm up the pool, statement caches and both tables
    await _timed(50, plain, 1)
    chain_rates, plain_rates = [], []
    for rep in range(REPS):  # alternate, so drift in machine load hits both sides alike
        start = 51 + rep * ROWS
        chain_rates.append(await _timed(ROWS, chained, start))
        plain_rates.append(await _timed(ROWS, plain, start))
    c, p = statistics.median(chain_rates), statistics.median(plain_rates)
    print(f"audit append on PostgreSQL: {ROWS} rows x {REPS} runs, one row per transaction, median")
    print(f"  chained AuditLog.append {c:,.0f} rows/s | plain insert {p:,.0f} rows/s | ratio {c / p:.2f}x")
    print(f"  {'meets' if c / p >= GOAL else 'BELOW'} the goal of {GOAL}x")

    began = time.perf_counter()
    async with db.transaction() as s:
        report = await verify_chain(s, key=key)
    took = time.perf_counter() - began
    state = "intact" if report.ok else f"BROKEN at row {report.first_bad_seq}: {report.problem}"
    print(f"  chain {state}: {report.rows} rows verified in {took:.2f} s ({report.rows / took:,.0f} rows/s)")
    if not report.ok:
        raise SystemExit(1)


async def main() -> None:
    url = make_url(os.environ.get("AEGIS_BENCH_DATABASE_URL", DEFAULT_URL))
    name = url.database or ""
    if url.get_backend_name() != "postgresql" or not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise SystemExit("AEGIS_BENCH_DATABASE_URL must name a PostgreSQL database like aegis_bench")
    await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin(url, f'CREATE DATABASE "{name}"')
    db = Database(url.render_as_string(hide_password=False))
    try:
        await migrate.upgrade(db)
        async with db.transaction() as s:  # columns, defaults, primary key and indexes; no triggers
            await s.execute(text(f"CREATE TABLE {PLAIN} (LIKE audit_log INCLUDING ALL)"))
        await bench(db)
    finally:
        await db.dispose()
        await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
