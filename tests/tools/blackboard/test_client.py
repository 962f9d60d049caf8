"""Blackboard Learn REST as the owner (three-legged OAuth), against responses shaped like Learn's:
the token request (HTTP Basic, form body), paging.nextPage chains, one re-auth after a 401, a 403 for
missing entitlements, a 429 quota hit, and no secret in any error."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date

import httpx
import pytest

from tools._http import RetryPolicy
from tools.blackboard.client import BlackboardClient, learn_id
from tools.blackboard.demo import DEMO_ACCESS, DEMO_APP, DEMO_REFRESH, USER, DemoBlackboard, demo_credentials
from tools.credentials import StaticCredentials
from tools.errors import AuthExpired, InvalidRequest, RateLimited

pytestmark = pytest.mark.anyio
Handler = Callable[[httpx.Request], httpx.Response | None]


class Vendor:
    def __init__(self) -> None:
        self.demo = DemoBlackboard(date(2026, 12, 2))
        self.requests: list[httpx.Request] = []
        self.faults: list[Handler] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for fault in self.faults:
            out = fault(request)
            if out is not None:
                return out
        return self.demo.handle(request)


async def _no_sleep(_s: float) -> None:
    return None


def _client(vendor: Vendor, creds: dict[str, str] | None = None) -> BlackboardClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(vendor))
    retry = RetryPolicy(sleep=_no_sleep, max_attempts=3)
    return BlackboardClient(http, StaticCredentials(creds or demo_credentials()), retry=retry)


async def test_the_refresh_token_buys_an_access_token_with_basic_auth_and_a_form_body() -> None:
    vendor = Vendor()
    me = await _client(vendor).me()
    assert me.id == USER
    token, data = vendor.requests[0], vendor.requests[1]
    key, _, secret = DEMO_APP.partition(":")
    assert token.url.path == "/learn/api/public/v1/oauth2/token" and token.method == "POST"
    assert token.headers["authorization"] == "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(httpx.QueryParams(token.content.decode())) == {
        "grant_type": "refresh_token",
        "refresh_token": DEMO_REFRESH,
    }
    assert data.headers["authorization"] == f"Bearer {DEMO_ACCESS}"


async def test_lists_follow_next_page_to_the_end() -> None:
    vendor = Vendor()
    client = _client(vendor)
    columns = await client.columns("_2231_1")
    assert [c.id for c in columns][:3] == ["_total_2231_1", "_9101_1", "_9102_1"] and len(columns) == 6
    pages = [r for r in vendor.requests if r.url.path.endswith("/gradebook/columns")]
    assert [r.url.params.get("offset") for r in pages] == [None, "2", "4"]
    due = {c.id: c.grading.due for c in columns if c.grading}
    assert due["_9101_1"] is not None and due["_9101_1"].isoformat() == "2026-12-04T23:59:00+00:00"


async def test_a_next_page_off_the_api_is_not_followed() -> None:
    vendor = Vendor()

    def hostile(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/announcements"):
            return httpx.Response(200, json={"results": [], "paging": {"nextPage": "https://evil.example/steal"}})
        return None

    vendor.faults.append(hostile)
    with pytest.raises(InvalidRequest):
        await _client(vendor).announcements("_2231_1")
    assert all(r.url.host == "learn.drexel.edu" for r in vendor.requests)


async def test_a_401_gets_one_new_access_token_then_the_call_succeeds() -> None:
    vendor = Vendor()
    client = _client(vendor)
    await client.me()
    rejected: list[int] = []

    def expire_once(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/users/me") and not rejected:
            rejected.append(1)
            return httpx.Response(401, json={"status": 401, "message": "Bearer token is invalid"})
        return None

    vendor.faults.append(expire_once)
    assert (await client.me()).id == USER
    assert sum(1 for r in vendor.requests if r.url.path.endswith("/oauth2/token")) == 2


async def test_a_revoked_refresh_token_is_auth_expired_without_the_secret() -> None:
    creds = {**demo_credentials(), "blackboard-refresh": "revokedRefreshTokenValue123"}
    with pytest.raises(AuthExpired) as caught:
        await _client(Vendor(), creds).me()
    text = str(caught.value)
    assert caught.value.code == "invalid_grant"
    assert "revokedRefreshTokenValue123" not in text and DEMO_APP.partition(":")[2] not in text


async def test_missing_entitlements_are_a_403_the_owner_cannot_fix_by_retrying() -> None:
    vendor = Vendor()
    vendor.faults.append(
        lambda r: (
            httpx.Response(403, json={"status": 403, "message": "User is not authorized"})
            if "gradebook" in r.url.path
            else None
        )
    )
    with pytest.raises(AuthExpired) as caught:
        await _client(vendor).grades("_2231_1", USER)
    assert caught.value.code == "missing_entitlement" and caught.value.status == 403
    assert sum(1 for r in vendor.requests if "gradebook" in r.url.path) == 1  # not retried


async def test_a_quota_429_is_retried_then_rate_limited_with_retry_after() -> None:
    vendor = Vendor()
    vendor.faults.append(
        lambda r: (
            httpx.Response(429, headers={"Retry-After": "2"}, json={"status": 429, "message": "Quota"})
            if r.url.path.endswith("/users/me")
            else None
        )
    )
    with pytest.raises(RateLimited) as caught:
        await _client(vendor).me()
    assert caught.value.retry_after == 2.0
    assert sum(1 for r in vendor.requests if r.url.path.endswith("/users/me")) == 3


async def test_ids_are_learn_ids_before_they_go_into_a_path() -> None:
    assert learn_id("_2231_1") == "_2231_1"
    for bad in ("../users", "_1_1/x", "2231", ""):
        with pytest.raises(InvalidRequest):
            learn_id(bad)


async def test_the_authorisation_link_asks_for_read_and_offline_at_the_school() -> None:
    url = httpx.URL(await _client(Vendor()).authorize_url("https://aegis.local/cb", "st4te"))
    assert url.host == "learn.drexel.edu" and url.path == "/learn/api/public/v1/oauth2/authorizationcode"
    assert url.params["scope"] == "read offline" and url.params["response_type"] == "code"
    assert url.params["client_id"] == DEMO_APP.partition(":")[0] and url.params["state"] == "st4te"
