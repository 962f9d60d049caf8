"""The brokerage's part of the owner's net worth, day by day (the core sums it with the other money
integrations' parts: ``integrations/money.py``).

A day's value is that day's snapshot (one per sync); a day without one (a weekend, a holiday) keeps
the last value, up to a week back. Days on or after the last sync read the synced accounts, each by
its last four digits. The brokerage owes nothing here: margin loans show in the accounts' value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from mcp_servers.schwab.store import StoredAccount
from mcp_servers.schwab.views import WorthAccount, WorthDay

CARRY = dt.timedelta(days=7)
ZERO = "0.00"


def _cents(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def worth_days(
    accounts: Sequence[StoredAccount],
    snapshots: Sequence[tuple[dt.date, dict[str, Any]]],
    start: dt.date,
    end: dt.date,
) -> list[WorthDay]:
    """``start..end``, oldest first; days with no value known are left out."""
    synced = max((a.synced_at.date() for a in accounts), default=None)
    now = [
        WorthAccount(
            account=f"Schwab {a.type.lower()} account {a.mask}",
            kind="asset",
            value=str(_cents(a.balances.get("total"))),
        )
        for a in accounts
    ]
    ordered = sorted(snapshots)
    out: list[WorthDay] = []
    last: tuple[dt.date, Decimal] | None = None
    i, day = 0, start
    while day <= end:
        while i < len(ordered) and ordered[i][0] <= day:
            last = (ordered[i][0], _cents(ordered[i][1].get("total")))
            i += 1
        if synced is not None and day >= synced:
            total = sum((Decimal(a["value"]) for a in now), Decimal(0))
            out.append(WorthDay(date=day.isoformat(), assets=str(total), liabilities=ZERO, accounts=list(now)))
        elif last is not None and day - last[0] <= CARRY:
            out.append(WorthDay(date=day.isoformat(), assets=str(last[1]), liabilities=ZERO, accounts=[]))
        day += dt.timedelta(days=1)
    return out
