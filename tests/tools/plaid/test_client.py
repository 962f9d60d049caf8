from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from tests.tools.conftest import Sleeps
from tests.tools.plaid.payloads import ACCOUNT, CHECKING, ITEM, plaid_error, sync_page, transaction
from tools._http import RetryPolicy
from tools.credentials import StaticCredentials
from tools.errors import (
    AuthExpired,
    InvalidRequest,
    NotFound,
    RateLimited,
    SyncMutationDuringPagination,
    UpstreamError,
)
from tools.plaid.client import PlaidClient

pytestmark = pytest.mark.anyio
CLIENT_ID = "60a7c1e2f3d4b5a6c7d8e9f0"
SECRET = "0123456789abcdef0123456789abcd"
ACCESS = "access-sandbox-de3ce8ef-33f8-452c-a685-8671031fc0f6"


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url="https://sandbox.plaid.com", assert_all_mocked=True)


@pytest.fixture
def creds() -> StaticCredentials:
    return StaticCredentials({"plaid-client-id": CLIENT_ID, "plaid-secret": SECRET})


@pytest.fixture
async def plaid(router: respx.Router, creds: StaticCredentials, policy: RetryPolicy) -> AsyncIterator[PlaidClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.handler)) as http:
        yield PlaidClient(http, creds, "sandbox", retry=policy)


def body_of(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


async def test_requests_carry_keys_in_the_body_and_the_api_version(plaid: PlaidClient, router: respx.Router) -> None:
    route = router.post("/accounts/get").respond(200, json={"accounts": [ACCOUNT], "item": ITEM, "request_id": "r1"})
    with capture_logs() as logs:
        accounts = await plaid.accounts_get(ACCESS)
    request = route.calls.last.request
    assert request.method == "POST" and request.headers["Plaid-Version"] == "2020-09-14"
    assert body_of(route) == {"client_id": CLIENT_ID, "secret": SECRET, "access_token": ACCESS}
    assert SECRET not in str(logs) and ACCESS not in str(logs) and CLIENT_ID not in str(logs)
    assert [e["path"] for e in logs if e["event"] == "integration.http"] == ["/accounts/get"]
    assert accounts.accounts[0].balances.available == Decimal("100.0") and accounts.item.institution_id == "ins_109508"


async def test_production_uses_the_production_host(creds: StaticCredentials, policy: RetryPolicy) -> None:
    prod = respx.Router(base_url="https://production.plaid.com", assert_all_mocked=True)
    route = prod.post("/accounts/get").respond(200, json={"accounts": [], "item": ITEM, "request_id": "r"})
    async with httpx.AsyncClient(transport=httpx.MockTransport(prod.handler)) as http:
        plaid = PlaidClient(http, creds, "production", retry=policy)
        await plaid.accounts_get(ACCESS)
        with pytest.raises(InvalidRequest, match="sandbox"):
            await plaid.sandbox_public_token_create()
    assert route.call_count == 1 and prod.calls.call_count == 1


def test_an_unknown_environment_is_refused(creds: StaticCredentials) -> None:
    with pytest.raises(InvalidRequest):
        PlaidClient(httpx.AsyncClient(), creds, "development")  # type: ignore[arg-type]


async def test_link_token_create(plaid: PlaidClient, router: respx.Router) -> None:
    route = router.post("/link/token/create").respond(
        200,
        json={
            "link_token": "link-sandbox-af1a0311-da53-4636-b754-dd15cc058176",
            "expiration": "2026-11-14T16:00:00Z",
            "request_id": "XQVgFigpGHXkb0b",
        },
    )
    token = await plaid.link_token_create("owner-1")
    body = body_of(route)
    assert body["user"] == {"client_user_id": "owner-1"} and body["products"] == ["transactions"]
    assert body["client_name"] == "Aegis" and body["country_codes"] == ["US"] and body["language"] == "en"
    assert token.link_token.get_secret_value().startswith("link-sandbox-") and "link-sandbox" not in repr(token)
    assert token.expiration.hour == 16
    await plaid.link_token_create("owner-1", access_token=ACCESS)
    update = body_of(route)
    assert update["access_token"] == ACCESS and "products" not in update


async def test_sandbox_item_creation_and_exchange(plaid: PlaidClient, router: respx.Router) -> None:
    create = router.post("/sandbox/public_token/create").respond(
        200, json={"public_token": "public-sandbox-b0e2c4ee-a763-4df5-bfe9-46a46bce993d", "request_id": "r2"}
    )
    exchange = router.post("/item/public_token/exchange").respond(
        200, json={"access_token": ACCESS, "item_id": ITEM["item_id"], "request_id": "r3"}
    )
    public = await plaid.sandbox_public_token_create()
    assert body_of(create)["institution_id"] == "ins_109508" and body_of(create)["initial_products"] == ["transactions"]
    result = await plaid.item_public_token_exchange(public.public_token.get_secret_value())
    assert body_of(exchange)["public_token"] == "public-sandbox-b0e2c4ee-a763-4df5-bfe9-46a46bce993d"
    assert result.access_token.get_secret_value() == ACCESS and ACCESS not in repr(result)
    assert result.item_id == ITEM["item_id"]


async def test_the_exchange_is_not_retried_after_a_server_error(plaid: PlaidClient, router: respx.Router) -> None:
    route = router.post("/item/public_token/exchange").respond(
        500, json=plaid_error("API_ERROR", "INTERNAL_SERVER_ERROR")
    )
    with pytest.raises(UpstreamError):
        await plaid.item_public_token_exchange("public-sandbox-x")
    assert route.call_count == 1


async def test_transactions_sync_pages(plaid: PlaidClient, router: respx.Router) -> None:
    route = router.post("/transactions/sync").mock(
        side_effect=[
            httpx.Response(200, json=sync_page(added=[transaction("t1")], cursor="c1", has_more=True)),
            httpx.Response(
                200,
                json=sync_page(
                    added=[transaction("t2", amount=-1500.0, name="ACME PAYROLL")],
                    cursor="c2",
                    has_more=False,
                    removed=[{"transaction_id": "t0", "account_id": ACCOUNT["account_id"]}],
                ),
            ),
        ]
    )
    first = await plaid.transactions_sync(ACCESS)
    second = await plaid.transactions_sync(ACCESS, first.next_cursor, count=250)
    assert "cursor" not in body_of(route, 0) and body_of(route, 0)["count"] == 500
    assert body_of(route, 1)["cursor"] == "c1" and body_of(route, 1)["count"] == 250
    tx = first.added[0]
    assert tx.amount == Decimal("12.5") and tx.date == date(2026, 11, 2) and tx.authorized_date == date(2026, 11, 1)
    assert tx.personal_finance_category is not None and tx.personal_finance_category.detailed == "FOOD_AND_DRINK_COFFEE"
    assert first.has_more and not second.has_more and second.next_cursor == "c2"
    assert second.added[0].amount == Decimal("-1500.0") and second.removed[0].transaction_id == "t0"
    assert second.transactions_update_status == "HISTORICAL_UPDATE_COMPLETE"


async def test_a_new_item_may_return_an_empty_first_page(plaid: PlaidClient, router: respx.Router) -> None:
    empty = sync_page(added=[], cursor="", has_more=False, transactions_update_status="NOT_READY", accounts=[])
    router.post("/transactions/sync").respond(200, json=empty)
    page = await plaid.transactions_sync(ACCESS)
    assert page.next_cursor == "" and page.transactions_update_status == "NOT_READY" and page.added == ()


@pytest.mark.parametrize("count", [0, 501])
async def test_sync_count_is_bounded(plaid: PlaidClient, count: int) -> None:
    with pytest.raises(InvalidRequest):
        await plaid.transactions_sync(ACCESS, count=count)


async def test_accounts_balance_get_with_account_filter(plaid: PlaidClient, router: respx.Router) -> None:
    route = router.post("/accounts/balance/get").respond(
        200, json={"accounts": [ACCOUNT], "item": ITEM, "request_id": "r"}
    )
    response = await plaid.accounts_balance_get(ACCESS, account_ids=[CHECKING])
    assert body_of(route)["options"] == {"account_ids": [CHECKING]}
    assert response.accounts[0].balances.current == Decimal("110.0") and response.accounts[0].mask == "0000"


@pytest.mark.parametrize(
    ("status", "error_type", "code", "expected", "calls"),
    [
        (400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED", AuthExpired, 1),
        (400, "INVALID_INPUT", "INVALID_ACCESS_TOKEN", AuthExpired, 1),
        (400, "INVALID_INPUT", "INVALID_API_KEYS", AuthExpired, 1),
        (400, "TRANSACTIONS_ERROR", "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION", SyncMutationDuringPagination, 1),
        (429, "RATE_LIMIT_EXCEEDED", "TRANSACTIONS_SYNC_LIMIT", RateLimited, 4),
        (400, "ITEM_ERROR", "ITEM_NOT_FOUND", NotFound, 1),
        (400, "INSTITUTION_ERROR", "INSTITUTION_DOWN", UpstreamError, 1),
        (400, "ITEM_ERROR", "PRODUCT_NOT_READY", UpstreamError, 1),
        (500, "API_ERROR", "INTERNAL_SERVER_ERROR", UpstreamError, 4),
        (400, "INVALID_REQUEST", "INVALID_FIELD", InvalidRequest, 1),
        (400, "INVALID_INPUT", "INVALID_PUBLIC_TOKEN", InvalidRequest, 1),
    ],
)
async def test_error_mapping(
    plaid: PlaidClient,
    router: respx.Router,
    status: int,
    error_type: str,
    code: str,
    expected: type[Exception],
    calls: int,
) -> None:
    route = router.post("/transactions/sync").respond(status, json=plaid_error(error_type, code, display="Try later"))
    with pytest.raises(expected) as caught:
        await plaid.transactions_sync(ACCESS, "cursor-1")
    error = caught.value
    assert type(error) is expected and route.call_count == calls
    assert getattr(error, "code", None) == code and getattr(error, "request_id", None) == "HNTDNrA8F1shFEW"
    assert getattr(error, "display_message", None) == "Try later"


async def test_invalid_api_keys_drop_the_cached_keys(
    plaid: PlaidClient, router: respx.Router, creds: StaticCredentials
) -> None:
    router.post("/accounts/get").respond(400, json=plaid_error("INVALID_INPUT", "INVALID_API_KEYS"))
    with pytest.raises(AuthExpired):
        await plaid.accounts_get(ACCESS)
    assert creds.invalidated == ["plaid-client-id", "plaid-secret"]


async def test_rate_limit_honours_retry_after_then_succeeds(
    plaid: PlaidClient, router: respx.Router, sleeps: Sleeps
) -> None:
    limited = httpx.Response(
        429, headers={"Retry-After": "2"}, json=plaid_error("RATE_LIMIT_EXCEEDED", "ACCOUNTS_LIMIT")
    )
    router.post("/accounts/get").mock(
        side_effect=[limited, httpx.Response(200, json={"accounts": [], "item": ITEM, "request_id": "r"})]
    )
    await plaid.accounts_get(ACCESS)
    assert sleeps.waits == [2.0]


async def test_error_messages_never_echo_credentials(plaid: PlaidClient, router: respx.Router) -> None:
    echo = plaid_error("INVALID_INPUT", "INVALID_ACCESS_TOKEN", f"bad token {ACCESS} for client {CLIENT_ID}/{SECRET}")
    router.post("/accounts/get").respond(400, json=echo)
    with pytest.raises(AuthExpired) as caught:
        await plaid.accounts_get(ACCESS)
    text = str(caught.value)
    assert ACCESS not in text and SECRET not in text and CLIENT_ID not in text and "[REDACTED]" in text


async def test_a_non_json_error_body_is_still_typed(plaid: PlaidClient, router: respx.Router) -> None:
    router.post("/accounts/get").respond(502, text="<html>Bad gateway</html>")
    with pytest.raises(UpstreamError):
        await plaid.accounts_get(ACCESS)


async def test_health_check_probes_with_the_keys(plaid: PlaidClient, router: respx.Router) -> None:
    route = router.post("/institutions/get_by_id").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "institution": {"institution_id": "ins_109508", "name": "First Platypus Bank", "products": []},
                    "request_id": "r",
                },
            ),
            httpx.Response(400, json=plaid_error("INVALID_INPUT", "INVALID_API_KEYS")),
        ]
    )
    assert await plaid.health_check() is True
    assert await plaid.health_check() is False
    assert body_of(route, 0)["institution_id"] == "ins_109508" and body_of(route, 0)["country_codes"] == ["US"]
