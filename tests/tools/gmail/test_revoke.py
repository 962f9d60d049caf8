"""Revoking Aegis's Google grant: a form post to Google's revocation endpoint, as Google documents it."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import httpx
import pytest

from tools._http import RetryPolicy
from tools.credentials import StaticCredentials
from tools.errors import AuthExpired, UpstreamError
from tools.gmail.client import GmailClient
from tools.google import REVOKE_URL

pytestmark = pytest.mark.anyio
REFRESH = "1//refresh-9a8b"


def _client(http: httpx.AsyncClient, token: dict[str, object], policy: RetryPolicy) -> GmailClient:
    return GmailClient(http, StaticCredentials({"gmail-oauth": json.dumps(token)}), retry=policy)


async def _revoke(
    status: int, body: object, token: dict[str, object], policy: RetryPolicy
) -> tuple[object, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        try:
            return await _client(http, token, policy).revoke_grant(), seen
        except Exception as exc:  # noqa: BLE001 - the test inspects what was raised
            return exc, seen


async def test_the_refresh_token_is_posted_as_a_form_and_ends_the_grant(policy: RetryPolicy) -> None:
    out, seen = await _revoke(200, {}, {"access_token": "ya29.x", "refresh_token": REFRESH}, policy)
    assert out is True
    (request,) = seen
    assert str(request.url) == REVOKE_URL and request.method == "POST"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {"token": [REFRESH]}  # in the body, never in the URL
    assert "Authorization" not in request.headers


async def test_an_access_token_alone_is_revoked_when_there_is_no_refresh_token(policy: RetryPolicy) -> None:
    out, seen = await _revoke(200, {}, {"access_token": "ya29.only"}, policy)
    assert out is True and parse_qs(seen[0].content.decode()) == {"token": ["ya29.only"]}


async def test_an_already_revoked_token_counts_as_done(policy: RetryPolicy) -> None:
    body = {"error": "invalid_token", "error_description": "Token expired or revoked"}
    out, _ = await _revoke(400, body, {"refresh_token": REFRESH}, policy)
    assert out is False


async def test_other_failures_raise_without_the_token_in_the_message(policy: RetryPolicy) -> None:
    out, seen = await _revoke(503, {"error": "backend"}, {"refresh_token": REFRESH}, policy)
    assert isinstance(out, UpstreamError) and REFRESH not in str(out)
    assert len(seen) == policy.max_attempts  # 5xx is retried
    missing, none_sent = await _revoke(200, {}, {"token_type": "Bearer"}, policy)
    assert isinstance(missing, AuthExpired) and none_sent == []
