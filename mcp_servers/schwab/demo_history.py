"""The demo profile's past: daily value snapshots for the last 90 days, so the money page's line
has a history on a fresh clone (a real installation builds it one sync a day)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mcp_servers.schwab.store import BrokerageStore, SyncBatch
from storage.audit import AuditEvent
from tools.schwab.demo import CASH, value_on

DAYS = 90


async def seed_history(store: BrokerageStore, today: dt.date) -> int:
    """Write the missing demo snapshots before today; returns how many were written."""
    start = today - dt.timedelta(days=DAYS)
    have = {d for d, _ in await store.snapshots(start, today)}
    written = 0
    for n in range(DAYS, 0, -1):
        day = today - dt.timedelta(days=n)
        if day in have or day.weekday() >= 5:  # markets close at weekends: no new value
            continue
        total = value_on(day).quantize(Decimal("0.01"))
        value = {"total": str(total), "cash": str(CASH), "invested": str(total - CASH)}
        event = AuditEvent("mcp:schwab", "finance.demo_history", "ok", resource="mcp:schwab", details={"day": str(day)})
        await store.apply_sync(SyncBatch((), (), (), (day, value)), event)
        written += 1
    return written
