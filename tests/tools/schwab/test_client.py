"""The Schwab client against schwab-py's own session (authlib on httpx2), faked at the HTTP edge with
respx on httpcore2 (API-NOTES §2; routes answer with ``httpx.Response``, which respx hands to
httpcore2): the token is read from and written back to the vault, never a file."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import httpx
import pytest
import pytest_httpx2  # noqa: F401 - registers respx's httpcore2 mocker
import respx

from tools.credentials import StaticCredentials, from_one_line
from tools.errors import AuthExpired, InvalidRequest, RateLimited
from tools.schwab.client import APP_KEY, APP_SECRET, TOKEN, SchwabClient, TradingNotEnabled, wrap_token

pytestmark = pytest.mark.anyio
API = "https://api.schwabapi.com"
HASH = "E5B7D9F1A3C5E7B9D1F0A1C3"


class Vault:
    """The broker's secret store as the client sees it: what was put, in order."""

    def __init__(self, credentials: StaticCredentials) -> None:
        self.credentials = credentials
        self.puts: list[tuple[str, str]] = []

    async def ready(self) -> None:
        return None

    async def put(self, name: str, value: str) -> None:
        self.credentials.set(name, value)
        self.puts.append((name, value))


async def no_sleep(_s: float) -> None:
    return None


def stored(expires_in: int, created_days_ago: float = 1) -> dict[str, str]:
    now = time.time()
    token = {
        "access_token": "AT1",
        "refresh_token": "RT1",
        "token_type": "Bearer",
        "expires_in": 1800,
        "expires_at": int(now) + expires_in,
        "scope": "api",
    }
    return {APP_KEY: "app-key", APP_SECRET: "app-secret", TOKEN: wrap_token(token, now - created_days_ago * 86400)}


def make(values: dict[str, str]) -> tuple[SchwabClient, Vault]:
    creds = StaticCredentials(values)
    vault = Vault(creds)
    return SchwabClient(creds, vault, sleep=no_sleep), vault


def numbers() -> list[dict[str, Any]]:
    return [{"accountNumber": "40817726", "hashValue": HASH}]


async def test_an_expired_access_token_is_refreshed_and_the_new_one_goes_back_to_the_vault() -> None:
    values = stored(expires_in=-60)
    client, vault = make(values)
    with respx.mock(using="httpcore2", assert_all_called=True) as mock:
        refresh = mock.post(f"{API}/v1/oauth/token").respond(
            200, json={"access_token": "AT2", "refresh_token": "RT1", "token_type": "Bearer", "expires_in": 1800}
        )
        listed = mock.get(f"{API}/trader/v1/accounts/accountNumbers").respond(200, json=numbers())
        out = await client.account_numbers()
    assert [n.hash_value for n in out] == [HASH] and out[0].mask == "••••7726"
    assert "grant_type=refresh_token" in refresh.calls.last.request.content.decode()
    assert listed.calls.last.request.headers["Authorization"] == "Bearer AT2"
    assert [name for name, _ in vault.puts] == [TOKEN]
    saved = json.loads(from_one_line(vault.puts[0][1]))
    assert saved["token"]["access_token"] == "AT2"
    assert saved["token"]["refresh_token"] == "RT1"
    # the login's time is kept: a refresh does not extend the 7-day refresh token
    assert saved["creation_timestamp"] == json.loads(values[TOKEN])["creation_timestamp"]
    assert json.loads(from_one_line(await vault.credentials.get(TOKEN)))["token"]["access_token"] == "AT2"


async def test_a_fresh_token_is_used_as_it_is_and_nothing_is_written() -> None:
    client, vault = make(stored(expires_in=1500))
    with respx.mock(using="httpcore2") as mock:
        mock.get(f"{API}/trader/v1/accounts/accountNumbers").respond(200, json=numbers())
        await client.account_numbers()
        assert not any(c.request.url.path == "/v1/oauth/token" for c in mock.calls)
    assert vault.puts == []


async def test_a_refused_refresh_token_means_reconnect() -> None:
    client, vault = make(stored(expires_in=-60, created_days_ago=7.1))
    with respx.mock(using="httpcore2") as mock:
        mock.post(f"{API}/v1/oauth/token").respond(
            400, json={"error": "invalid_client", "error_description": "refresh token invalid"}
        )
        with pytest.raises(AuthExpired) as caught:
            await client.account_numbers()
    assert caught.value.code == "invalid_client"
    assert vault.puts == []


async def test_refresh_expiry_is_seven_days_from_the_login() -> None:
    values = stored(expires_in=1500, created_days_ago=6.5)
    client, _ = make(values)
    created = json.loads(values[TOKEN])["creation_timestamp"]
    expires = await client.refresh_expires_at()
    assert expires == dt.datetime.fromtimestamp(created, tz=dt.UTC) + dt.timedelta(days=7)
    missing, _ = make({APP_KEY: "k", APP_SECRET: "s"})
    assert await missing.refresh_expires_at() is None


async def test_reads_honour_retry_after_then_give_up_with_rate_limited() -> None:
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)

    creds = StaticCredentials(stored(expires_in=1500))
    client = SchwabClient(creds, Vault(creds), sleep=sleep)
    with respx.mock(using="httpcore2") as mock:
        route = mock.get(f"{API}/trader/v1/accounts/accountNumbers")
        route.side_effect = [
            httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "slow down"}),
            httpx.Response(200, json=numbers()),
        ]
        assert len(await client.account_numbers()) == 1
        route.side_effect = None
        route.return_value = httpx.Response(429, json={"message": "slow down"})
        with pytest.raises(RateLimited):
            await client.account_numbers()
    assert waits[0] == 7.0


async def test_an_order_is_never_retried_and_its_id_comes_from_location() -> None:
    client, _ = make(stored(expires_in=1500))
    spec = {"orderType": "MARKET", "session": "NORMAL", "duration": "DAY", "orderStrategyType": "SINGLE"}
    with respx.mock(using="httpcore2") as mock:
        route = mock.post(f"{API}/trader/v1/accounts/{HASH}/orders")
        route.return_value = httpx.Response(201, headers={"Location": f"{API}/trader/v1/accounts/{HASH}/orders/123"})
        assert await client.place_order(HASH, spec) == 123
        route.return_value = httpx.Response(503, json={"message": "unavailable"})
        with pytest.raises(Exception, match="unavailable"):
            await client.place_order(HASH, spec)
        assert route.call_count == 2  # one each: the 503 was not retried
        route.return_value = httpx.Response(400, json={"message": "A validation error occurred", "errors": ["qty"]})
        with pytest.raises(InvalidRequest, match="A validation error occurred; qty"):
            await client.place_order(HASH, spec)
        route.return_value = httpx.Response(401, json={"message": "Client not authorized"})
        with pytest.raises(TradingNotEnabled):
            await client.place_order(HASH, spec)
