"""Plaid sync into PostgreSQL: 100,000 transactions through the real sync path, encrypted, against plain inserts.

Run with ``uv run python bench/plaid_sync.py`` (``--quick``: 20,000 transactions; ``--rows N``;
``--profile``: one extra profiled sync, top functions printed). The database is ``--pg URL`` or
``AEGIS_BENCH_DATABASE_URL`` (default ``postgresql+asyncpg://postgres@127.0.0.1:5432/aegis_bench_sync``):
dropped if it exists, created, migrated with ``storage.migrate``, measured, and dropped again.

* **sync**: ``PlaidService.sync`` (the Plaid MCP server's service, as ``python -m mcp_servers.plaid``
  builds it) over ``PlaidClient`` and a demo-shaped sandbox: the demo Item, connected with
  ``sandbox_connect``, whose ``/transactions/sync`` serves the generated transactions in pages of 500
  (``DemoPlaid``'s response shapes; each page's body is encoded once before timing, so the fake vendor
  costs nothing). Timed: every page fetched and parsed, the change set folded, each row's amount, name,
  merchant name and details encrypted with ``FieldCipher``, and ``FinanceStore.apply_sync`` writing
  rows, accounts, cursor and audit row in one transaction.
* **plain**: the same rows (same columns and values, the encrypted ones as plain UTF-8) inserted into
  ``bench_plain_transactions`` (``LIKE plaid_transactions INCLUDING ALL``) the way the sync writes them:
  one ``executemany`` of every row through the same ``Database.transaction()``. Rows are built before
  timing.

The table is truncated (and the Item's cursor reset) before each run; sides alternate. Prints rows/s
(median over rounds) for both and the ratio sync/plain.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import datetime as dt
import json
import os
import pstats
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import asyncpg
import httpx
from sqlalchemy import MetaData, Table, text, update
from sqlalchemy.engine import URL, make_url

from mcp_servers._common import audit_log
from mcp_servers.plaid.models import PlaidItemRow, PlaidTransactionRow
from mcp_servers.plaid.secrets import MemorySecretStore
from mcp_servers.plaid.service import PlaidService
from mcp_servers.plaid.store import FinanceStore
from storage import migrate
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tools._http import build_http_client
from tools.credentials import StaticCredentials
from tools.plaid import demo
from tools.plaid.client import PlaidClient
from tools.plaid.demo_data import ledger

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/aegis_bench_sync"
PAGE = 500
PLAIN = "bench_plain_transactions"
PLAIN_TABLE = cast(Table, PlaidTransactionRow.__table__).to_metadata(MetaData(), name=PLAIN)


class BenchPlaid(demo.DemoPlaid):
    """The demo sandbox with ``rows`` generated transactions (the ledger's rows, repeated over two years)."""

    def __init__(self, rows: int) -> None:
        super().__init__(page_size=PAGE)
        self.transactions.clear()
        self.events.clear()
        for i in range(rows):
            day, account, name, amount, pending = ledger.ROWS[i % len(ledger.ROWS)]
            shifted = dt.date.fromisoformat(day) - dt.timedelta(days=61 * ((i // len(ledger.ROWS)) % 12))
            tx = demo.build_transaction(i, (shifted.isoformat(), account, name, amount, pending))
            self.transactions[tx["transaction_id"]] = tx
            self.events.append(("added", tx))
        self._accounts_once = super()._accounts()
        self._pages: dict[int, bytes] = {}
        for offset in range(0, rows, PAGE):  # encode every page once, up front
            cursor = base64.b64encode(f"demo-v1:{ledger.ITEM_ID}:{offset}".encode()).decode() if offset else None
            self._pages[offset] = super()._sync({"cursor": cursor, "count": PAGE}).content

    def _accounts(self, realtime: bool = False) -> list[dict[str, Any]]:
        return self._accounts_once if not realtime else super()._accounts(realtime)

    def _sync(self, body: dict[str, Any]) -> httpx.Response:
        cursor = body.get("cursor") or ""
        offset = int(base64.b64decode(cursor).decode().rsplit(":", 1)[1]) if cursor else 0
        page = self._pages.get(offset)
        if page is None:
            return super()._sync(body)
        return httpx.Response(200, content=page, headers={"content-type": "application/json"})


def plain_rows(sandbox: BenchPlaid, item_id: str) -> list[dict[str, Any]]:
    """The values ``FinanceStore._tx_row`` stores for each transaction, with the sealed ones in plain UTF-8."""
    now = dt.datetime.now(dt.UTC)
    excluded = {"transaction_id", "account_id", "amount", "date", "name", "merchant_name"}
    excluded |= {"personal_finance_category", "pending", "iso_currency_code", "unofficial_currency_code"}
    out = []
    for _, tx in sandbox.events:
        pfc = tx["personal_finance_category"]
        details = {k: v for k, v in tx.items() if k not in excluded}
        out.append(
            {
                "transaction_id": tx["transaction_id"],
                "item_id": item_id,
                "account_id": tx["account_id"],
                "date": dt.date.fromisoformat(tx["date"]),
                "category_primary": pfc["primary"],
                "category_detailed": pfc["detailed"],
                "pending": tx["pending"],
                "currency": tx["iso_currency_code"],
                "amount": str(tx["amount"]).encode(),
                "name": tx["name"].encode(),
                "merchant_name": tx["merchant_name"].encode() if tx["merchant_name"] else None,
                "details": json.dumps(details, separators=(",", ":"), sort_keys=True).encode(),
                "updated_at": now,
            }
        )
    return out


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


async def bench(db: Database, rows: int, rounds: int, profile: bool) -> None:
    keyring = Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("finance", "chain") for p in ("enc", "idx")]
    )
    began = time.perf_counter()
    sandbox = BenchPlaid(rows)
    print(f"plaid sync into PostgreSQL: {rows:,} transactions, pages of {PAGE}, median of {rounds} runs per side")
    print(f"  (sandbox generated and pages encoded in {time.perf_counter() - began:.1f} s; load average"
          f" {os.getloadavg()[0]:.2f})")  # fmt: skip
    credentials = StaticCredentials(demo.demo_credentials())
    async with build_http_client(transport=httpx.MockTransport(sandbox.handler)) as http:
        client = PlaidClient(http, credentials, "sandbox")
        store = FinanceStore(db, FieldCipher(keyring), audit_log(keyring, "finance"))
        service = PlaidService(client, store, credentials, MemorySecretStore(credentials), page_size=PAGE)
        item = (await service.sandbox_connect({"bench": True})).item_id
        records = plain_rows(sandbox, item)
        insert = PLAIN_TABLE.insert()

        async def reset(table: str) -> None:
            async with db.transaction() as s:
                await s.execute(text(f"TRUNCATE {table}"))
                await s.execute(update(PlaidItemRow).values(cursor=None))

        async def sync() -> float:
            await reset("plaid_transactions")
            start = time.perf_counter()
            counts = await service.sync({"bench": True})
            took = time.perf_counter() - start
            assert counts.added == rows and counts.pages == -(-rows // PAGE), counts
            return rows / took

        async def plain() -> float:
            await reset(PLAIN)
            start = time.perf_counter()
            async with db.transaction() as s:
                await s.execute(insert, records)
            return rows / (time.perf_counter() - start)

        sides: list[tuple[list[float], Callable[[], Awaitable[float]]]] = [([], sync), ([], plain)]
        await plain()  # warm up the pool and the statement cache
        for r in range(rounds):  # alternate, order flipped each round
            for rates, fn in sides if r % 2 == 0 else reversed(sides):
                rates.append(await fn())
        async with db.transaction() as s:
            stored = await s.scalar(text("SELECT count(*) FROM plaid_transactions"))
            blob = bytes((await s.execute(text("SELECT name FROM plaid_transactions LIMIT 1"))).scalar_one())
        assert stored == rows, stored
        assert not any(n.encode() in blob for n in ledger.MERCHANTS), "names must be stored encrypted"
        (sync_rates, _), (plain_rates, _) = sides
        s_med, p_med = statistics.median(sync_rates), statistics.median(plain_rates)
        print(f"  sync (fetch + parse + encrypt + upsert) {s_med:9,.0f} rows/s ({rows / s_med:5.1f} s per sync)")
        print(f"  plain inserts, same rows               {p_med:9,.0f} rows/s ({rows / p_med:5.1f} s)")
        print(f"  ratio sync/plain {s_med / p_med:.3f} (plain is {p_med / s_med:.1f}x faster)")
        runs = [", ".join(f"{x:,.0f}" for x in rates) for rates in (sync_rates, plain_rates)]
        print(f"  runs (rows/s): sync {runs[0]} | plain {runs[1]}")
        if profile:
            await reset("plaid_transactions")
            prof = cProfile.Profile()
            prof.enable()
            await service.sync({"bench": True})
            prof.disable()
            print("  profile of one sync (internal time, top 25):")
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)


async def main(args: argparse.Namespace) -> None:
    url = make_url(args.pg or os.environ.get("AEGIS_BENCH_DATABASE_URL", DEFAULT_URL))
    name = url.database or ""
    if url.get_backend_name() != "postgresql" or not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise SystemExit("the database must be a scratch PostgreSQL database like aegis_bench_sync")
    await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin(url, f'CREATE DATABASE "{name}"')
    db = Database(url.render_as_string(hide_password=False))
    try:
        await migrate.upgrade(db)
        async with db.transaction() as s:  # columns, defaults, primary key and indexes
            await s.execute(text(f"CREATE TABLE {PLAIN} (LIKE plaid_transactions INCLUDING ALL)"))
        rows = args.rows or (20_000 if args.quick else 100_000)
        await bench(db, rows, 2 if args.quick else 3, args.profile)
    finally:
        await db.dispose()
        await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Plaid sync into PostgreSQL against plain inserts.")
    parser.add_argument("--quick", action="store_true", help="20,000 transactions, 2 runs per side")
    parser.add_argument("--rows", type=int, help="number of transactions (default 100,000)")
    parser.add_argument("--pg", metavar="URL", help="a scratch PostgreSQL database (dropped afterwards)")
    parser.add_argument("--profile", action="store_true", help="profile one extra sync and print the top functions")
    from aegis.logs import Redactor, configure_logging

    configure_logging(Redactor(), level="WARNING")
    asyncio.run(main(parser.parse_args()))
