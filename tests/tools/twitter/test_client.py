"""The X client: tweepy's async client sending through httpx, against answers shaped like X API v2.

X is faked at the network edge (an httpx transport under the session tweepy sends through).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from tools.credentials import StaticCredentials
from tools.errors import AuthExpired, RateLimited
from tools.twitter.client import DuplicatePost, ReadsNotInTier, XClient
from tools.twitter.demo import DEMO_TOKENS, OWNER_ID, TIER_ERROR, DemoX, demo_credentials

pytestmark = pytest.mark.anyio
Handler = Callable[[httpx.Request], httpx.Response]


class Edge:
    def __init__(self) -> None:
        self.x = DemoX()
        self.requests: list[httpx.Request] = []
        self.override: Handler | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.override(request) if self.override else self.x.handle(request)


@pytest.fixture
def edge() -> Edge:
    return Edge()


@pytest.fixture
async def client(edge: Edge) -> AsyncIterator[XClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(edge)) as http:
        yield XClient(http, StaticCredentials(demo_credentials()))


async def test_the_home_timeline_is_a_signed_v2_call_answered_with_data_includes_meta(
    client: XClient, edge: Edge
) -> None:
    page = await client.home_timeline(max_results=3)
    sent = edge.requests[-1]
    assert sent.url.host == "api.twitter.com"
    assert sent.url.path == f"/2/users/{OWNER_ID}/timelines/reverse_chronological"  # id from the token, no lookup
    assert len(edge.requests) == 1
    assert sent.url.params["max_results"] == "3" and "public_metrics" in sent.url.params["tweet.fields"]
    auth = sent.headers["authorization"]
    assert auth.startswith("OAuth ") and 'oauth_signature="' in auth and DEMO_TOKENS["access_token_secret"] not in auth
    assert page["meta"]["result_count"] == 3 and len(page["data"]) == 3
    assert {u["id"] for u in page["includes"]["users"]} >= {p["author_id"] for p in page["data"]}


async def test_a_429_is_rate_limited_with_retry_after_from_the_reset_header(client: XClient, edge: Edge) -> None:
    reset = int(time.time()) + 120
    headers = {"x-rate-limit-limit": "180", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    body = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
    edge.override = lambda _r: httpx.Response(429, json=body, headers=headers)
    with pytest.raises(RateLimited) as caught:
        await client.mentions(max_results=5)
    assert caught.value.retry_after is not None and 115 <= caught.value.retry_after <= 121
    assert len(edge.requests) == 1  # not waited out or retried blindly inside the client


async def test_the_free_tiers_client_forbidden_answer_is_a_tier_error(client: XClient, edge: Edge) -> None:
    edge.override = lambda _r: httpx.Response(403, json=TIER_ERROR)
    with pytest.raises(ReadsNotInTier) as caught:
        await client.home_timeline(max_results=5)
    assert caught.value.code == "client-not-enrolled" and "Appropriate Level of API Access" in str(caught.value)


async def test_a_post_sends_exactly_the_text_and_a_duplicate_is_typed(client: XClient, edge: Edge) -> None:
    text = "Approvals before anything public: my assistant waits for me. 日本語 too."
    out = await client.create_post(text)
    sent = edge.requests[-1]
    assert sent.method == "POST" and sent.url.path == "/2/tweets" and json.loads(sent.content) == {"text": text}
    assert out["data"]["text"] == text and out["data"]["id"] in edge.x.created
    with pytest.raises(DuplicatePost):
        await client.create_post(text)
    assert len(edge.x.created) == 1


async def test_rejected_tokens_are_auth_expired_without_any_secret(client: XClient, edge: Edge) -> None:
    echo = " ".join(DEMO_TOKENS.values())
    edge.override = lambda _r: httpx.Response(401, json={"title": "Unauthorized", "detail": echo, "status": 401})
    with pytest.raises(AuthExpired) as caught:
        await client.me()
    assert all(v not in str(caught.value) for v in DEMO_TOKENS.values())


async def test_missing_tokens_mean_not_connected() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(DemoX().handle)) as http:
        bad = XClient(http, StaticCredentials({"twitter-tokens": json.dumps({"access_token": "1-a"})}))
        with pytest.raises(AuthExpired, match="consumer_key"):
            await bad.me()


async def test_a_429_with_a_near_reset_is_waited_out_then_sent_again(edge: Edge) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    answers = iter([httpx.Response(429, json={"title": "Too Many Requests"}, headers={"Retry-After": "2"})])
    edge.override = lambda r: next(answers, None) or edge.x.handle(r)
    async with httpx.AsyncClient(transport=httpx.MockTransport(edge)) as http:
        client = XClient(http, StaticCredentials(demo_credentials()), sleep=sleep)
        page = await client.home_timeline(max_results=5, since_id="1859000000000099900", pagination_token="tok-2")
    assert waits == [2.0] and len(edge.requests) == 2 and page["meta"]["result_count"] == 2
    params = edge.requests[-1].url.params
    assert params["since_id"] == "1859000000000099900" and params["pagination_token"] == "tok-2"
