from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

import httpx
import pytest
from mcp import Client
from sqlalchemy import func, select, text

from mcp_servers._common import CallGate
from mcp_servers.plaid.models import PlaidItemRow, PlaidTransactionRow
from mcp_servers.plaid.secrets import NoSecretStore
from mcp_servers.plaid.server import PlaidDeps, build_server
from mcp_servers.plaid.service import PlaidService
from storage.models import AuditRow
from tests.mcp_servers.conftest import Plaid, call, error_text
from tools.plaid import demo
from tools.plaid.demo_data import ledger

pytestmark = pytest.mark.anyio
LINK, READ = "finance.link", "finance.read"


async def _connect(p: Plaid) -> None:
    out = await call(p.client, p.tokens, "sandbox_connect", {}, LINK)
    assert out == {"item_id": ledger.ITEM_ID, "institution_id": ledger.INSTITUTION_ID, "accounts": 2}


async def _rows(p: Plaid) -> list[tuple[str, bool]]:
    async with p.db.transaction() as s:
        rows = (await s.execute(select(PlaidTransactionRow.transaction_id, PlaidTransactionRow.pending))).all()
    return [(r[0], r[1]) for r in rows]


async def _cursor(p: Plaid) -> str | None:
    async with p.db.transaction() as s:
        return await s.scalar(select(PlaidItemRow.cursor))


async def _audits(p: Plaid, action: str) -> int:
    async with p.db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(AuditRow).where(AuditRow.action == action)) or 0)


def _mutation_error() -> httpx.Response:
    return httpx.Response(
        400,
        json={
            "display_message": None,
            "documentation_url": "https://plaid.com/docs/errors/#transactions_sync_mutation_during_pagination",
            "error_code": "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION",
            "error_message": "Underlying transaction data changed since last page was fetched. "
            "Please restart pagination from last update.",
            "error_type": "TRANSACTIONS_ERROR",
            "request_id": "m5r8gS3nM1xqZ2a",
            "suggested_action": None,
        },
    )


async def test_tools_schemas_and_annotations(plaid: Plaid) -> None:
    tools = {t.name: t for t in (await plaid.client.list_tools()).tools}
    assert set(tools) == {
        "create_link_token",
        "exchange_public_token",
        "sandbox_connect",
        "disconnect",
        "sync",
        "balances",
        "spending_by_category",
        "transactions",
        "net_worth",
        "worth_by_day",
        "cash_flow",
    }
    for name, tool in tools.items():
        assert tool.description and tool.annotations is not None and tool.output_schema is not None
        assert tool.annotations.read_only_hint is not None
        assert tool.annotations.destructive_hint is (name == "disconnect")
    assert tools["balances"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert tools["spending_by_category"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert tools["sync"].annotations.read_only_hint is False  # type: ignore[union-attr]
    spending = tools["spending_by_category"].input_schema
    assert spending["required"] == ["start_date", "end_date"]
    assert spending["properties"]["start_date"]["format"] == "date"
    assert tools["exchange_public_token"].input_schema["required"] == ["public_token"]
    production = build_server(PlaidDeps(plaid.service, CallGate(server="plaid", resource="mcp:plaid", verify=None)))
    async with Client(production) as client:
        assert "sandbox_connect" not in {t.name for t in (await client.list_tools()).tools}


async def test_link_token_and_public_token_exchange_keep_the_access_token_out_of_results(plaid: Plaid) -> None:
    link = await call(plaid.client, plaid.tokens, "create_link_token", {}, LINK)
    assert link["link_token"].startswith("link-sandbox-") and link["expiration"].startswith("2026-11-14T16:00")
    public = (await plaid.service.client.sandbox_public_token_create()).public_token.get_secret_value()
    result = await plaid.client.call_tool(
        "exchange_public_token", {"public_token": public}, meta=plaid.tokens.meta(LINK)
    )
    assert not result.is_error and result.structured_content is not None
    assert result.structured_content["item_id"] == ledger.ITEM_ID
    assert demo.DEMO_ACCESS_TOKEN not in result.model_dump_json()
    assert plaid.secrets.names == [f"plaid-item:{ledger.ITEM_ID}"]
    async with plaid.db.transaction() as s:
        dump = repr((await s.execute(text("SELECT * FROM plaid_items"))).all())
        dump += repr((await s.execute(text("SELECT * FROM plaid_accounts"))).all())
    assert demo.DEMO_ACCESS_TOKEN not in dump and f"plaid-item:{ledger.ITEM_ID}" in dump
    assert await _audits(plaid, "finance.link") == 1
    again = await plaid.client.call_tool(
        "exchange_public_token", {"public_token": public}, meta=plaid.tokens.meta(LINK)
    )
    assert "INVALID_PUBLIC_TOKEN" in error_text(again)


async def test_without_a_secret_store_the_public_token_is_not_spent(plaid: Plaid) -> None:
    service = PlaidService(plaid.service.client, plaid.service.store, plaid.credentials, NoSecretStore())
    server = build_server(PlaidDeps(service, CallGate(server="plaid", resource="mcp:plaid", verify=None), sandbox=True))
    public = (await plaid.service.client.sandbox_public_token_create()).public_token.get_secret_value()
    async with Client(server) as client:
        result = await client.call_tool("exchange_public_token", {"public_token": public})
    assert "may not store secrets" in error_text(result)
    assert "/item/public_token/exchange" not in plaid.sandbox.calls


async def test_a_first_sync_pages_until_has_more_is_false_and_a_rerun_adds_nothing(plaid: Plaid) -> None:
    await _connect(plaid)
    first = await call(plaid.client, plaid.tokens, "sync", {}, READ)
    assert (first["items"], first["added"], first["pages"], first["restarts"]) == (1, len(ledger.ROWS), 3, 0)
    assert plaid.edge.sync_cursors[0] is None and len(set(plaid.edge.sync_cursors)) == 3
    assert len(await _rows(plaid)) == len(ledger.ROWS)
    cursor = await _cursor(plaid)
    again = await call(plaid.client, plaid.tokens, "sync", {}, READ)
    assert (again["added"], again["pages"]) == (0, 1)
    assert plaid.edge.sync_cursors[-1] == cursor  # continued from the committed cursor
    assert len(await _rows(plaid)) == len(ledger.ROWS)


async def test_a_mutation_during_pagination_restarts_from_the_loops_first_cursor(plaid: Plaid) -> None:
    await _connect(plaid)
    plaid.sandbox.mutate_during_next_pagination()
    out = await call(plaid.client, plaid.tokens, "sync", {}, READ)
    assert out["restarts"] == 1 and out["added"] == len(ledger.ROWS)  # the failed loop's page was discarded
    first, second, *rest = plaid.edge.sync_cursors
    assert first is None and second is not None and rest[0] is None  # restarted from the original cursor
    assert len(await _rows(plaid)) == len(ledger.ROWS)

    # Later in the Item's life: the loop starts from a stored cursor and must go back to it.
    start = await _cursor(plaid)
    posted = plaid.sandbox.post_pending()
    plaid.sandbox.page_size = 2
    plaid.edge.sync_cursors.clear()
    plaid.edge.answer[2] = _mutation_error()
    out = await call(plaid.client, plaid.tokens, "sync", {}, READ)
    assert out["restarts"] == 1 and (out["added"], out["removed"]) == (3, 3)
    c = plaid.edge.sync_cursors
    assert c[0] == start and c[1] != start and c[2] == start and len(c) == 5
    rows = await _rows(plaid)
    assert len(rows) == len(ledger.ROWS) and not any(pending for _, pending in rows)
    assert set(posted) <= {tid for tid, _ in rows}


async def test_a_crash_mid_sync_changes_nothing_and_a_rerun_converges(plaid: Plaid) -> None:
    await _connect(plaid)
    plaid.edge.crash_on = 3  # pages 1 and 2 were fetched
    crashed = await plaid.client.call_tool("sync", {}, meta=plaid.tokens.meta(READ))
    assert crashed.is_error and len(plaid.edge.sync_cursors) == 3
    assert await _rows(plaid) == [] and await _cursor(plaid) is None
    assert await _audits(plaid, "finance.sync") == 0
    plaid.edge.crash_on = None
    out = await call(plaid.client, plaid.tokens, "sync", {}, READ)
    assert out["added"] == len(ledger.ROWS) and len(await _rows(plaid)) == len(ledger.ROWS)

    # Mid-life: pending rows post (removed + added), and the process dies on the third page.
    before, start = sorted(await _rows(plaid)), await _cursor(plaid)
    plaid.sandbox.post_pending()
    plaid.sandbox.page_size = 2
    plaid.edge.sync_cursors.clear()
    plaid.edge.crash_on = 3
    assert (await plaid.client.call_tool("sync", {}, meta=plaid.tokens.meta(READ))).is_error
    assert sorted(await _rows(plaid)) == before and await _cursor(plaid) == start
    plaid.edge.crash_on = None
    out = await call(plaid.client, plaid.tokens, "sync", {}, READ)
    assert (out["added"], out["removed"]) == (3, 3)
    rows = await _rows(plaid)
    assert len(rows) == len({tid for tid, _ in rows}) == len(ledger.ROWS)
    assert sum(pending for _, pending in before) == 3 and not any(pending for _, pending in rows)
    assert await _audits(plaid, "finance.sync") == 2


async def test_modified_transactions_replace_the_stored_ones(plaid: Plaid) -> None:
    await _connect(plaid)
    await call(plaid.client, plaid.tokens, "sync", {}, READ)
    dinner = next(t for t in plaid.sandbox.transactions.values() if t["name"] == "HABESHA ETHIOPIAN")
    window = {"start_date": "2026-11-01", "end_date": "2026-11-30"}
    before = await call(plaid.client, plaid.tokens, "spending_by_category", window, READ)

    def add_modified(doc: dict[str, Any]) -> dict[str, Any]:
        return doc | {"modified": [dinner | {"amount": 120.0}]}

    plaid.edge.rewrite = add_modified
    out = await call(plaid.client, plaid.tokens, "sync", {}, READ)
    assert (out["added"], out["modified"]) == (0, 1)
    after = await call(plaid.client, plaid.tokens, "spending_by_category", window, READ)
    food = {c["category"]: Decimal(c["total"]) for c in before["categories"]}["FOOD_AND_DRINK"]
    assert {c["category"]: Decimal(c["total"]) for c in after["categories"]}["FOOD_AND_DRINK"] == food + Decimal(
        "23.20"
    )
    assert len(await _rows(plaid)) == len(ledger.ROWS)


async def test_item_login_required_is_a_clear_error(plaid: Plaid) -> None:
    await _connect(plaid)
    plaid.sandbox.require_login()
    for tool in ("sync", "balances"):
        result = await plaid.client.call_tool(tool, {}, meta=plaid.tokens.meta(READ))
        text_ = error_text(result)
        assert "reconnect" in text_ and "ITEM_LOGIN_REQUIRED" in text_ and "sign in again" in text_
    assert await _rows(plaid) == [] and await _cursor(plaid) is None


async def test_balances_match_the_ledger_and_are_encrypted_at_rest(plaid: Plaid) -> None:
    await _connect(plaid)
    out = await call(plaid.client, plaid.tokens, "balances", {}, READ)
    by_id = {a["account_id"]: a for a in out["accounts"]}
    for spec in ledger.ACCOUNTS:
        rows = [
            r for r in ledger.ROWS if {"checking": ledger.CHECKING, "credit": ledger.CREDIT}[r[1]] == spec["account_id"]
        ]
        posted = sum((Decimal(r[3]) for r in rows if not r[4]), Decimal(0))
        pending = sum((Decimal(r[3]) for r in rows if r[4]), Decimal(0))
        got = by_id[spec["account_id"]]
        assert (got["name"], got["mask"], got["type"]) == (spec["name"], spec["mask"], spec["type"])
        if spec["type"] == "credit":  # what is owed goes up with purchases
            current, available = (
                spec["opening_balance"] + posted,
                spec["limit"] - spec["opening_balance"] - posted - pending,
            )
        else:
            current, available = spec["opening_balance"] - posted, spec["opening_balance"] - posted - pending
        assert (Decimal(got["current"]), Decimal(got["available"])) == (current, available)
    assert {s["item_id"] for s in out["sources"]} == {ledger.CHECKING, ledger.CREDIT}
    assert {(s["channel"], s["server"], s["principal"]) for s in out["sources"]} == {
        ("bank", "plaid", ledger.INSTITUTION_ID)
    }
    async with plaid.db.transaction() as s:
        blobs = (await s.execute(text("SELECT name, official_name, balances FROM plaid_accounts"))).all()
    raw = b"".join(bytes(v) for row in blobs for v in row)
    assert b"Plaid Checking" not in raw and b"Gold Standard" not in raw and b"available" not in raw


async def test_spending_by_category_matches_the_ledger_and_amounts_are_encrypted(plaid: Plaid) -> None:
    await _connect(plaid)
    await call(plaid.client, plaid.tokens, "sync", {}, READ)
    for start, end in (("2026-10-01", "2026-10-31"), ("2026-09-15", "2026-11-14"), ("2026-11-13", "2026-11-13")):
        expected: dict[str, Decimal] = defaultdict(Decimal)
        counts: dict[str, int] = defaultdict(int)
        for day, _account, name, amount, _pending in ledger.ROWS:
            if start <= day <= end and Decimal(amount) > 0:
                expected[ledger.MERCHANTS[name][3]] += Decimal(amount)
                counts[ledger.MERCHANTS[name][3]] += 1
        out = await call(
            plaid.client, plaid.tokens, "spending_by_category", {"start_date": start, "end_date": end}, READ
        )
        assert {c["category"]: Decimal(c["total"]) for c in out["categories"]} == expected
        assert {c["category"]: c["transactions"] for c in out["categories"]} == counts
        assert {c["currency"] for c in out["categories"]} == {"USD"}
        assert "INCOME" not in expected
    async with plaid.db.transaction() as s:
        blobs = (await s.execute(text("SELECT amount, name, merchant_name, details FROM plaid_transactions"))).all()
        plain = (await s.execute(text("SELECT DISTINCT category_primary FROM plaid_transactions"))).scalars().all()
    raw = b"".join(bytes(v) for row in blobs for v in row if v is not None)
    for needle in (b"WHOLEFDS", b"Whole Foods", b"87.42", b"1650", b"New York", b"starbucks.com"):
        assert needle not in raw
    assert "FOOD_AND_DRINK" in plain
    bad = await plaid.client.call_tool(
        "spending_by_category",
        {"start_date": "2026-11-30", "end_date": "2026-11-01"},
        meta=plaid.tokens.meta(READ),
    )
    assert "end_date must be on or after start_date" in error_text(bad)


async def test_plaid_tools_check_the_token_audience_and_scope(plaid: Plaid) -> None:
    await _connect(plaid)
    wrong_scope = await plaid.client.call_tool("balances", {}, meta=plaid.tokens.meta(LINK))
    assert "call refused: insufficient_scope" in error_text(wrong_scope)
    gmail_token = plaid.tokens.meta(READ, audience="mcp-gmail")
    assert "call refused: bad_audience" in error_text(await plaid.client.call_tool("sync", {}, meta=gmail_token))
    assert "call refused: missing_token" in error_text(await plaid.client.call_tool("sandbox_connect", {}))
    assert await _rows(plaid) == [] and json.dumps(plaid.edge.sync_cursors) == "[]"


async def test_an_item_is_kept_even_if_fetching_its_accounts_fails_right_after_linking(plaid: Plaid) -> None:
    plaid.sandbox.require_login()  # /accounts/get fails; the exchange itself succeeds
    out = await call(plaid.client, plaid.tokens, "sandbox_connect", {}, LINK)
    assert out == {"item_id": ledger.ITEM_ID, "institution_id": None, "accounts": 0}
    plaid.sandbox.require_login(False)
    balances = await call(plaid.client, plaid.tokens, "balances", {}, READ)
    assert len(balances["accounts"]) == 2
    assert {s["principal"] for s in balances["sources"]} == {ledger.INSTITUTION_ID}


async def test_disconnect_removes_items_at_plaid_and_forgets_them(plaid: Plaid) -> None:
    out = await call(plaid.client, plaid.tokens, "sandbox_connect", {}, LINK)
    item = out["item_id"]
    assert (await call(plaid.client, plaid.tokens, "sync", {}, "finance.read"))["added"] > 0
    assert await call(plaid.client, plaid.tokens, "disconnect", {}, LINK) == {"removed": [item]}
    assert await plaid.service.store.items() == []
    assert await plaid.service.store.accounts() == [] and await plaid.service.store.transaction_ids() == []
    # Plaid's scope for reading cannot disconnect.
    refused = await plaid.client.call_tool("disconnect", {}, meta=plaid.tokens.meta("finance.read"))
    assert "call refused: insufficient_scope" in error_text(refused)


async def test_transactions_are_listed_largest_first_with_their_sources(plaid: Plaid) -> None:
    await _connect(plaid)
    await call(plaid.client, plaid.tokens, "sync", {}, READ)
    args = {"start_date": "2026-09-01", "end_date": "2026-11-30", "limit": 5}
    out = await call(plaid.client, plaid.tokens, "transactions", args, READ)
    txs = out["transactions"]
    assert len(txs) == 5
    amounts = [abs(Decimal(t["amount"])) for t in txs]
    assert amounts == sorted(amounts, reverse=True)
    assert {s["item_id"] for s in out["sources"]} == {t["transaction_id"] for t in txs}
    assert all(t["merchant"] and t["category"] for t in txs)
    backwards = {"start_date": "2026-11-30", "end_date": "2026-09-01"}
    bad = await plaid.client.call_tool("transactions", backwards, meta=plaid.tokens.meta(READ))
    assert bad.is_error and "on or after start_date" in error_text(bad)
