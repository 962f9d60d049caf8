"""NewsAPI through httpx: the key in its header, the article envelope, and each error body mapped."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tools._http import RetryPolicy, build_http_client
from tools.credentials import StaticCredentials
from tools.errors import AuthExpired, InvalidRequest, RateLimited
from tools.news.newsapi import NewsApiClient

pytestmark = pytest.mark.anyio
KEY = "5f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f"

OK = {
    "status": "ok",
    "totalResults": 2,
    "articles": [
        {
            "source": {"id": "bbc-news", "name": "BBC News"},
            "author": "A Reporter",
            "title": "Grid pilot uses artificial intelligence",
            "description": "The pilot forecasts demand.",
            "url": "https://www.bbc.co.uk/news/technology-1",
            "urlToImage": None,
            "publishedAt": "2026-12-02T08:30:00Z",
            "content": "The pilot forecasts demand street by street… [+2310 chars]",
        },
        {
            "source": {"id": None, "name": "Removed"},
            "author": None,
            "title": "[Removed]",
            "description": "[Removed]",
            "url": "https://removed.com",
            "urlToImage": None,
            "publishedAt": "1970-01-01T00:00:00Z",
            "content": "[Removed]",
        },
    ],
}


def client(handler: Any, waits: list[float] | None = None) -> NewsApiClient:
    async def sleep(seconds: float) -> None:
        (waits if waits is not None else []).append(seconds)

    http = build_http_client(transport=httpx.MockTransport(handler))
    return NewsApiClient(http, StaticCredentials({"newsapi-key": KEY}), retry=RetryPolicy(sleep=sleep))


async def test_everything_sends_the_key_in_its_header_and_reads_the_articles() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=OK)

    found = await client(handler).everything('"artificial intelligence" OR "climate"', page_size=30)
    request = seen[0]
    assert request.url.path == "/v2/everything" and request.url.host == "newsapi.org"
    assert request.headers["X-Api-Key"] == KEY and KEY not in str(request.url)
    assert request.url.params["q"] == '"artificial intelligence" OR "climate"'
    assert request.url.params["pageSize"] == "30" and request.url.params["sortBy"] == "publishedAt"
    assert [a.title for a in found] == ["Grid pilot uses artificial intelligence"]  # "[Removed]" dropped
    assert found[0].source == "BBC News" and found[0].origin == "newsapi"
    assert found[0].published_at is not None and found[0].published_at.isoformat() == "2026-12-02T08:30:00+00:00"


async def test_a_429_with_retry_after_is_waited_then_raised_as_rate_limited_with_the_vendor_code() -> None:
    waits: list[float] = []
    body = {"status": "error", "code": "rateLimited", "message": "You have made too many requests recently."}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "7"}, json=body)

    with pytest.raises(RateLimited) as caught:
        await client(handler, waits).top_headlines(country="us")
    assert caught.value.retry_after == 7.0 and caught.value.code == "rateLimited"
    assert waits and all(w == 7.0 for w in waits)  # Retry-After honoured, never a blind backoff


async def test_an_invalid_key_is_auth_expired_and_the_message_holds_no_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        message = f"Your API key is invalid or incorrect ({request.headers['X-Api-Key']})."
        return httpx.Response(401, json={"status": "error", "code": "apiKeyInvalid", "message": message})

    with pytest.raises(AuthExpired) as caught:
        await client(handler).everything("climate")
    assert caught.value.code == "apiKeyInvalid" and KEY not in str(caught.value)


async def test_missing_parameters_are_an_invalid_request_and_are_refused_before_sending() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"status": "error", "code": "parametersMissing", "message": "Required parameters are missing."}
        return httpx.Response(400, json=body)

    with pytest.raises(InvalidRequest) as caught:
        await client(handler).everything("x" * 20)
    assert caught.value.code == "parametersMissing"
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=OK)

    with pytest.raises(InvalidRequest):
        await client(record).top_headlines()
    assert sent == []
