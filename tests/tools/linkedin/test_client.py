"""The LinkedIn client against responses shaped like LinkedIn's (API-NOTES §9): userinfo, the Posts
API's 201 with the post id in ``x-restli-id``, a revoked token, a 429 with Retry-After and a 422
duplicate; only the network edge is faked."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import cast
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tools._http import RetryPolicy
from tools.credentials import StaticCredentials
from tools.errors import AuthExpired, InvalidRequest, RateLimited, UpstreamError
from tools.linkedin import demo
from tools.linkedin.client import MAX_POST_CHARS, LinkedInClient, little_text

pytestmark = pytest.mark.anyio
Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler, waits: list[float] | None = None) -> tuple[LinkedInClient, httpx.AsyncClient]:
    async def sleep(seconds: float) -> None:
        (waits if waits is not None else []).append(seconds)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    creds = StaticCredentials(demo.demo_credentials())
    return LinkedInClient(http, creds, version="202611", retry=RetryPolicy(sleep=sleep)), http


async def test_userinfo_gives_the_member_and_their_author_urn() -> None:
    client, http = _client(demo.DemoLinkedIn().handle)
    async with http:
        me = await client.me()
    assert (me.sub, me.name, me.email) == (demo.DEMO_SUB, "Jordan Avery", "jordan.avery@example.com")
    assert me.urn == f"urn:li:person:{demo.DEMO_SUB}"


async def test_a_post_sends_the_versioned_headers_and_body_and_keeps_the_id_from_x_restli_id() -> None:
    li = demo.DemoLinkedIn()
    client, http = _client(li.handle)
    async with http:
        done = await client.create_post(f"urn:li:person:{demo.DEMO_SUB}", "Shipped it (finally) #python")
    sent = li.requests[-1]
    assert sent.url == "https://api.linkedin.com/rest/posts"
    assert sent.headers["LinkedIn-Version"] == "202611" and sent.headers["X-Restli-Protocol-Version"] == "2.0.0"
    body = json.loads(sent.content)
    assert body == {
        "author": f"urn:li:person:{demo.DEMO_SUB}",
        "commentary": r"Shipped it \(finally\) \#python",
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    assert done.urn == "urn:li:share:7400000000000000000"
    assert done.link == "https://www.linkedin.com/feed/update/urn:li:share:7400000000000000000/"


def test_little_text_escapes_every_reserved_character() -> None:
    assert little_text(r"a(b)c{d}e[f]g<h>i@j|k~l_m*n#o\p") == r"a\(b\)c\{d\}e\[f\]g\<h\>i\@j\|k\~l\_m\*n\#o\\p"


async def test_a_post_over_3000_characters_is_refused_before_anything_is_sent() -> None:
    li = demo.DemoLinkedIn()
    client, http = _client(li.handle)
    async with http:
        with pytest.raises(InvalidRequest, match="3001 characters") as exc:
            await client.create_post("urn:li:person:x", "a" * (MAX_POST_CHARS + 1))
        assert exc.value.code == "too_long"
        await client.create_post(f"urn:li:person:{demo.DEMO_SUB}", "a" * MAX_POST_CHARS)  # the limit itself is fine
    assert len(li.requests) == 1


async def test_a_revoked_token_is_auth_expired_without_the_token_in_the_message() -> None:
    def revoked(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Bearer ")
        return httpx.Response(
            401,
            json={
                "serviceErrorCode": 65601,
                "message": f"The token {token} has been revoked by the user",
                "status": 401,
            },
        )

    client, http = _client(revoked)
    async with http:
        with pytest.raises(AuthExpired) as exc:
            await client.me()
    assert exc.value.code == "65601" and demo.DEMO_TOKEN not in str(exc.value)


async def test_a_429_is_waited_out_for_its_retry_after_then_the_post_is_made_once() -> None:
    li, waits, calls = demo.DemoLinkedIn(), cast(list[float], []), cast(list[httpx.Request], [])

    def throttled_once(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(
                429, headers={"Retry-After": "7"}, json={"message": "Too Many Requests", "status": 429}
            )
        return li.handle(request)

    client, http = _client(throttled_once, waits)
    async with http:
        done = await client.create_post(f"urn:li:person:{demo.DEMO_SUB}", "Hello")
    assert waits == [7.0] and len(calls) == 2 and len(li.posts) == 1 and done.urn in li.posts


async def test_a_429_that_persists_is_rate_limited_with_its_retry_after() -> None:
    def always(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "20"}, json={"message": "Too Many Requests", "status": 429})

    client, http = _client(always)
    async with http:
        with pytest.raises(RateLimited) as exc:
            await client.create_post("urn:li:person:x", "Hello")
    assert exc.value.retry_after == 20.0


async def test_a_duplicate_is_a_422_invalid_request_and_a_500_is_never_retried_for_a_post() -> None:
    li = demo.DemoLinkedIn()
    client, http = _client(li.handle)
    author = f"urn:li:person:{demo.DEMO_SUB}"
    async with http:
        await client.create_post(author, "Same words")
        with pytest.raises(InvalidRequest) as exc:
            await client.create_post(author, "Same words")
    assert exc.value.status == 422 and exc.value.code == "duplicate" and len(li.posts) == 1

    calls: list[httpx.Request] = []

    def broken(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500, json={"message": "Internal Server Error", "status": 500})

    client, http = _client(broken)
    async with http:
        with pytest.raises(UpstreamError):
            await client.create_post(author, "Hello")
    assert len(calls) == 1  # it may have been published: never sent again


async def test_the_authorize_url_and_the_code_exchange_use_the_apps_client_id_and_secret() -> None:
    li = demo.DemoLinkedIn(redirect_uri="https://aegis.example.net/static/oauth-return.html")
    client, http = _client(li.handle)
    async with http:
        url = urlsplit(await client.authorize_url("https://aegis.example.net/static/oauth-return.html", "s" * 32))
        token = await client.exchange_code(demo.DEMO_CODE, "https://aegis.example.net/static/oauth-return.html")
        with pytest.raises(AuthExpired) as exc:
            await client.exchange_code("AQTsomeOtherCode", "https://aegis.example.net/static/oauth-return.html")
    query = parse_qs(url.query)
    assert (url.netloc, url.path) == ("www.linkedin.com", "/oauth/v2/authorization")
    assert query["scope"] == ["openid profile email w_member_social"] and query["state"] == ["s" * 32]
    assert query["client_id"] == [demo.DEMO_APP.partition(":")[0]] and "client_secret" not in query
    assert token == demo.DEMO_TOKEN
    assert demo.DEMO_APP.partition(":")[2] not in str(exc.value)


async def test_the_version_comes_from_the_vault_and_a_sunset_version_says_how_to_fix_it() -> None:
    seen: list[str] = []

    def sunset(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["LinkedIn-Version"])
        return httpx.Response(426, json={"message": "Requested version 20250501 is not active", "status": 426})

    http = httpx.AsyncClient(transport=httpx.MockTransport(sunset))
    creds = StaticCredentials(demo.demo_credentials() | {"linkedin-version": "202505"})
    async with http:
        with pytest.raises(InvalidRequest) as exc:
            await LinkedInClient(http, creds).create_post("urn:li:person:x", "Hello")
        assert seen == ["202505"] and exc.value.code == "version_sunset" and "linkedin-version" in exc.value.message
        assert await LinkedInClient(http, StaticCredentials(demo.demo_credentials())).version() == "202605"
