"""Plaid service logic: connecting an Item, the ``/transactions/sync`` loop, balances and spending.

The sync loop (per Item) starts from the stored cursor and pages until ``has_more`` is false,
folding every page into one ordered change set (a later page overrides an earlier one for the same
transaction id). ``TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION`` discards the loop's pages and
restarts from the cursor the loop started with. Only a finished loop is written: its rows and its
``next_cursor`` in one transaction. A crash or error mid-loop therefore writes nothing, and the next
run repeats the same pages; upserts by transaction id make that converge without duplicates.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import structlog

from mcp_servers.plaid.secrets import SecretStore
from mcp_servers.plaid.store import FinanceStore, ItemState
from storage.audit import AuditEvent
from tools.credentials import CredentialProvider
from tools.errors import AuthExpired, IntegrationError, NotFound, SyncMutationDuringPagination, UpstreamError
from tools.plaid.client import PlaidClient
from tools.plaid.models import AccountBase, AccountsResponse, LinkToken, Transaction

log = structlog.get_logger("aegis.mcp_servers.plaid")

ACTOR = "mcp:plaid"
CLIENT_USER_ID = "aegis-owner"
MAX_RESTARTS = 5


def secret_name(item_id: str) -> str:
    return f"plaid-item:{item_id}"


@dataclass
class SyncCounts:
    items: int = 0
    added: int = 0
    modified: int = 0
    removed: int = 0
    pages: int = 0
    restarts: int = 0


@dataclass
class _Loop:
    cursor: str | None
    ops: dict[str, Transaction | None] = field(default_factory=dict)
    accounts: dict[str, AccountBase] = field(default_factory=dict)
    added: int = 0
    modified: int = 0
    removed: int = 0
    pages: int = 0


@dataclass(frozen=True)
class Connected:
    item_id: str
    institution_id: str | None
    accounts: int


class PlaidService:
    def __init__(
        self,
        client: PlaidClient,
        store: FinanceStore,
        credentials: CredentialProvider,
        secrets: SecretStore,
        *,
        page_size: int = 500,
    ) -> None:
        self.client = client
        self.store = store
        self._credentials = credentials
        self._secrets = secrets
        self._page_size = page_size
        self._lock = asyncio.Lock()

    # ---- connecting ------------------------------------------------------------------------

    async def link_token(self) -> LinkToken:
        return await self.client.link_token_create(CLIENT_USER_ID)

    async def exchange(self, public_token: str, details: dict[str, Any]) -> Connected:
        # First: a public token is single-use, so do not spend it unless the access token can be kept.
        await self._secrets.ready()
        result = await self.client.item_public_token_exchange(public_token)
        access_token = result.access_token.get_secret_value()
        name = secret_name(result.item_id)
        await self._secrets.put(name, access_token)
        self._credentials.invalidate(name)
        try:
            response: AccountsResponse | None = await self.client.accounts_get(access_token)
        except IntegrationError as exc:  # the Item is recorded anyway; balances() fetches accounts later
            log.warning("plaid.accounts_after_link_failed", item_id=result.item_id, error=type(exc).__name__)
            response = None
        institution = response.item.institution_id if response is not None else None
        accounts = response.accounts if response is not None else ()
        event = AuditEvent(
            ACTOR, "finance.link", "ok", resource="mcp:plaid", details={**details, "item_id": result.item_id}
        )
        await self.store.connect(result.item_id, institution, name, accounts, event)
        log.info("plaid.connected", item_id=result.item_id, accounts=len(accounts))
        return Connected(result.item_id, institution, len(accounts))

    async def sandbox_connect(self, details: dict[str, Any]) -> Connected:
        public = await self.client.sandbox_public_token_create()
        return await self.exchange(public.public_token.get_secret_value(), details)

    async def disconnect(self, details: dict[str, Any]) -> list[str]:
        """Remove every Item at Plaid, then forget it here (accounts and transactions too).

        An Item Plaid no longer knows, or whose token it already refuses, counts as removed. Any
        other failure stops before anything local is deleted, so a retry can still remove it."""
        removed: list[str] = []
        async with self._lock:
            for item in await self.store.items():
                token = await self._credentials.get(item.secret_name)
                try:
                    await self.client.item_remove(token)
                except (NotFound, AuthExpired) as exc:
                    log.info("plaid.item_already_gone", item_id=item.item_id, error=type(exc).__name__)
                self._credentials.invalidate(item.secret_name)
                event = AuditEvent(
                    ACTOR, "finance.unlink", "ok", resource="mcp:plaid", details={**details, "item_id": item.item_id}
                )
                await self.store.forget(item.item_id, event)
                removed.append(item.item_id)
        return removed

    # ---- sync ------------------------------------------------------------------------------

    async def sync(self, details: dict[str, Any]) -> SyncCounts:
        counts = SyncCounts()
        async with self._lock:
            await self.store.repair_account_names()  # values an earlier version sealed under the wrong context
            for item in await self.store.items():
                loop, restarts = await self._loop(item)
                event = AuditEvent(
                    ACTOR,
                    "finance.sync",
                    "ok",
                    resource="mcp:plaid",
                    details={
                        **details,
                        "item_id": item.item_id,
                        "added": loop.added,
                        "modified": loop.modified,
                        "removed": loop.removed,
                        "restarts": restarts,
                    },
                )
                await self.store.apply_sync(
                    item.item_id,
                    expected=item.cursor,
                    cursor=loop.cursor,
                    ops=loop.ops,
                    accounts=loop.accounts.values(),
                    event=event,
                )
                counts.items += 1
                counts.added += loop.added
                counts.modified += loop.modified
                counts.removed += loop.removed
                counts.pages += loop.pages
                counts.restarts += restarts
        log.info("plaid.sync", **counts.__dict__)
        return counts

    async def _loop(self, item: ItemState) -> tuple[_Loop, int]:
        token = await self._credentials.get(item.secret_name)
        for restarts in range(MAX_RESTARTS + 1):
            loop = _Loop(item.cursor)
            try:
                while True:
                    page = await self.client.transactions_sync(token, loop.cursor, count=self._page_size)
                    loop.pages += 1
                    for tx in page.added:
                        loop.ops[tx.transaction_id] = tx
                    for tx in page.modified:
                        loop.ops[tx.transaction_id] = tx
                    for gone in page.removed:
                        loop.ops[gone.transaction_id] = None
                    loop.accounts.update((a.account_id, a) for a in page.accounts)
                    loop.added += len(page.added)
                    loop.modified += len(page.modified)
                    loop.removed += len(page.removed)
                    loop.cursor = page.next_cursor or item.cursor  # a brand-new Item may answer ""
                    if not page.has_more:
                        return loop, restarts
            except SyncMutationDuringPagination:
                log.info("plaid.sync_restart", item_id=item.item_id, attempt=restarts + 1)
        raise UpstreamError(
            "Plaid kept changing this Item's data during pagination; try the sync again later",
            integration="plaid",
            code="TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION",
        )

    # ---- reads -----------------------------------------------------------------------------

    async def refresh_balances(self) -> None:
        """Fetch cached balances (``/accounts/get``) for every Item and store them encrypted."""
        for item in await self.store.items():
            token = await self._credentials.get(item.secret_name)
            response = await self.client.accounts_get(token)
            await self.store.save_accounts(item.item_id, response.item.institution_id, response.accounts)

    async def transactions(self, start: dt.date, end: dt.date, limit: int) -> list[dict[str, Any]]:
        return await self.store.transactions(start, end, limit)

    async def spending(self, start: dt.date, end: dt.date) -> Sequence[tuple[str, str, Decimal, int]]:
        """``(currency, category, total outflow, transactions)``, largest first."""
        sums = await self.store.outflows(start, end)
        rows = [(cur, cat, total, n) for (cur, cat), (total, n) in sums.items()]
        return sorted(rows, key=lambda r: (r[0], -r[2], r[1]))
