from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest

from tools._http import build_http_client
from tools.credentials import StaticCredentials
from tools.errors import AuthExpired, InvalidRequest, SyncMutationDuringPagination
from tools.plaid.client import PlaidClient
from tools.plaid.demo import DemoPlaid, demo_credentials, demo_transport
from tools.plaid.demo_data import ledger
from tools.plaid.models import SyncPage, Transaction

pytestmark = pytest.mark.anyio


@pytest.fixture
def sandbox() -> DemoPlaid:
    return DemoPlaid()


@pytest.fixture
async def plaid(sandbox: DemoPlaid) -> AsyncIterator[PlaidClient]:
    async with build_http_client(transport=demo_transport(sandbox)) as http:
        yield PlaidClient(http, StaticCredentials(demo_credentials()))


async def connect(plaid: PlaidClient) -> str:
    public = await plaid.sandbox_public_token_create()
    return (
        await plaid.item_public_token_exchange(public.public_token.get_secret_value())
    ).access_token.get_secret_value()


async def full_sync(plaid: PlaidClient, token: str, cursor: str | None = None) -> tuple[list[SyncPage], str]:
    pages: list[SyncPage] = []
    while True:
        page = await plaid.transactions_sync(token, cursor)
        pages.append(page)
        cursor = page.next_cursor
        if not page.has_more:
            return pages, cursor


async def test_sandbox_connect_flow(plaid: PlaidClient) -> None:
    link = await plaid.link_token_create("owner")
    assert link.link_token.get_secret_value().startswith("link-sandbox-")
    token = await connect(plaid)
    assert token.startswith("access-sandbox-")
    assert await plaid.health_check() is True


async def test_a_public_token_is_single_use(plaid: PlaidClient) -> None:
    public = (await plaid.sandbox_public_token_create()).public_token.get_secret_value()
    await plaid.item_public_token_exchange(public)
    with pytest.raises(InvalidRequest) as caught:
        await plaid.item_public_token_exchange(public)
    assert caught.value.code == "INVALID_PUBLIC_TOKEN"


async def test_initial_sync_is_multi_page_and_covers_two_months(plaid: PlaidClient) -> None:
    token = await connect(plaid)
    pages, _ = await full_sync(plaid, token)
    added: list[Transaction] = [tx for page in pages for tx in page.added]
    assert len(pages) == 3 and [len(p.added) for p in pages] == [25, 25, 10]
    assert len(added) == 60 and len({tx.transaction_id for tx in added}) == 60
    assert min(tx.date for tx in added) == date(2026, 9, 15) and max(tx.date for tx in added) == date(2026, 11, 13)
    categories = {tx.personal_finance_category.primary for tx in added if tx.personal_finance_category}
    assert len(categories) >= 9 and {"INCOME", "FOOD_AND_DRINK", "RENT_AND_UTILITIES", "TRAVEL"} <= categories
    assert {tx.account_id for tx in added} == {ledger.CHECKING, ledger.CREDIT}
    assert sum(tx.pending for tx in added) == 3
    assert any(tx.amount < 0 for tx in added) and any(tx.amount > 0 for tx in added)


async def test_a_synced_cursor_returns_nothing_new(plaid: PlaidClient) -> None:
    token = await connect(plaid)
    _, cursor = await full_sync(plaid, token)
    page = await plaid.transactions_sync(token, cursor)
    assert page.added == () and page.removed == () and not page.has_more and page.next_cursor == cursor


async def test_balances_agree_with_the_transactions(plaid: PlaidClient) -> None:
    token = await connect(plaid)
    pages, _ = await full_sync(plaid, token)
    rows = [tx for page in pages for tx in page.added]
    accounts = {a.account_id: a for a in (await plaid.accounts_balance_get(token)).accounts}
    checking, credit = accounts[ledger.CHECKING], accounts[ledger.CREDIT]
    posted_checking = sum((tx.amount for tx in rows if tx.account_id == ledger.CHECKING and not tx.pending), Decimal(0))
    posted_credit = sum((tx.amount for tx in rows if tx.account_id == ledger.CREDIT and not tx.pending), Decimal(0))
    assert checking.balances.current == Decimal("1840.25") - posted_checking
    assert credit.balances.current == Decimal("410.00") + posted_credit
    assert credit.balances.limit == Decimal("2000") and credit.type == "credit" and checking.subtype == "checking"
    cached = {a.account_id: a for a in (await plaid.accounts_get(token)).accounts}
    assert cached[ledger.CHECKING].balances.current == checking.balances.current
    assert cached[ledger.CHECKING].balances.last_updated_datetime is None


async def test_posting_pending_transactions_yields_removed_and_added(plaid: PlaidClient, sandbox: DemoPlaid) -> None:
    token = await connect(plaid)
    pages, cursor = await full_sync(plaid, token)
    pending = {tx.transaction_id for page in pages for tx in page.added if tx.pending}
    sandbox.post_pending()
    update, _ = await full_sync(plaid, token, cursor)
    removed = {r.transaction_id for page in update for r in page.removed}
    added = [tx for page in update for tx in page.added]
    assert removed == pending
    assert {tx.pending_transaction_id for tx in added} == pending and not any(tx.pending for tx in added)


async def test_mutation_during_pagination_then_restart_succeeds(plaid: PlaidClient, sandbox: DemoPlaid) -> None:
    token = await connect(plaid)
    sandbox.mutate_during_next_pagination()
    first = await plaid.transactions_sync(token)
    with pytest.raises(SyncMutationDuringPagination):
        await plaid.transactions_sync(token, first.next_cursor)
    pages, _ = await full_sync(plaid, token)  # restart from the loop's first cursor (none)
    assert sum(len(p.added) for p in pages) == 60


async def test_login_required_and_bad_keys_are_auth_expired(plaid: PlaidClient, sandbox: DemoPlaid) -> None:
    token = await connect(plaid)
    sandbox.require_login()
    with pytest.raises(AuthExpired) as caught:
        await plaid.transactions_sync(token)
    assert caught.value.code == "ITEM_LOGIN_REQUIRED" and caught.value.display_message
    with pytest.raises(AuthExpired):
        await plaid.accounts_get("access-sandbox-00000000-0000-0000-0000-000000000000")
    async with build_http_client(transport=demo_transport(sandbox)) as http:
        wrong = PlaidClient(http, StaticCredentials({"plaid-client-id": "x", "plaid-secret": "y"}))
        assert await wrong.health_check() is False
