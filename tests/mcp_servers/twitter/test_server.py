"""The X server over the demo X (faked only at the HTTP edge), with token-checked calls and a real store.

The sync (the ``sync_social`` job's tool) fills the store; the reads answer from it.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import httpx
import pytest
from mcp import Client
from mcp.types import RequestParamsMeta
from sqlalchemy import text

from broker.tokens import SigningKey
from mcp_servers._common import TOKEN_META, CallGate, audit_log
from mcp_servers.twitter.feed import FeedStore
from mcp_servers.twitter.server import XDeps, build_server
from mcp_servers.twitter.service import TIER_NOTICE, XService
from mcp_servers.twitter.store import PostStore
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.mcp_servers.conftest import Clock, Tokens, call
from tools.credentials import StaticCredentials
from tools.twitter.client import XClient
from tools.twitter.demo import OWNER_ID, DemoX, demo_credentials

pytestmark = pytest.mark.anyio


class Edge:
    def __init__(self) -> None:
        self.x = DemoX()
        self.requests: list[httpx.Request] = []
        self.lose_answer = False  # X acts, then the connection drops before its answer arrives
        self.fault: Callable[[httpx.Request], httpx.Response | None] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = (self.fault and self.fault(request)) or self.x.handle(request)
        if self.lose_answer:
            self.lose_answer = False
            raise httpx.ReadError("connection reset", request=request)
        return response


@dataclass
class X:
    client: Client
    tokens: Tokens
    edge: Edge
    service: XService

    async def post(self, text: str, call_id: str | None) -> Any:
        meta: dict[str, Any] = {TOKEN_META: self.tokens.mint("social.post")}
        if call_id is not None:
            meta["aegis/call"] = call_id
        return await self.client.call_tool("post", {"text": text}, meta=cast(RequestParamsMeta, meta))


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("social", "chain") for p in ("enc", "idx")]
    )


@pytest.fixture
async def x(
    db: Database, keyring: Keyring, make_gate: Callable[[str], CallGate], signing_key: SigningKey, clock: Clock
) -> AsyncIterator[X]:
    edge = Edge()
    async with httpx.AsyncClient(transport=httpx.MockTransport(edge)) as http:
        client = XClient(http, StaticCredentials(demo_credentials()))
        store = PostStore(db, FieldCipher(keyring), audit_log(keyring, "social"))
        service = XService(client, store, FeedStore(db, FieldCipher(keyring)))
        server = build_server(XDeps(service=service, gate=make_gate("twitter")))
        async with Client(server) as mcp_client:
            yield X(mcp_client, Tokens(signing_key, clock, "twitter"), edge, service)


async def sync(x: X) -> dict[str, Any]:
    out: dict[str, Any] = await call(x.client, x.tokens, "sync", {}, "social.read")
    return out


async def test_reads_answer_from_the_store_the_sync_fills_each_post_named_by_its_author(x: X) -> None:
    before = await call(x.client, x.tokens, "home_timeline", {"limit": 5}, "social.read")
    assert before["posts"] == [] and before["synced_at"] is None and "Nothing is synced" in before["notice"]
    out = await sync(x)
    assert (out["home_new"], out["mentions_new"], out["deferred"]) == (5, 2, False)
    asked = len(x.edge.requests)
    timeline = await call(x.client, x.tokens, "home_timeline", {"limit": 5}, "social.read")
    assert len(x.edge.requests) == asked  # a read never calls X
    assert len(timeline["posts"]) == 5 and timeline["synced_at"] and "notice" not in timeline
    by_id = {s["item_id"]: s for s in timeline["sources"]}
    for post in timeline["posts"]:
        source = by_id[post["id"]]
        assert source["channel"] == "social" and source["principal"] == post["author"]
        assert post["author"].startswith("@") and post["author"] != "@alexr_builds"
    assert [p["created_at"] for p in timeline["posts"]] == sorted(
        (p["created_at"] for p in timeline["posts"]), reverse=True
    )
    mentions = await call(x.client, x.tokens, "mentions", {"limit": 2}, "social.read")
    assert len(mentions["posts"]) == 2 and all("@alexr_builds" in p["text"] for p in mentions["posts"])
    assert all(re.fullmatch(r"\w{3} \d{2} \w{3} \d{2}:\d{2} UTC", p["when"]) for p in mentions["posts"])
    newer = await call(x.client, x.tokens, "mentions", {"since_id": mentions["posts"][1]["id"]}, "social.read")
    assert [p["id"] for p in newer["posts"]] == [mentions["posts"][0]["id"]]


async def test_the_next_sync_asks_from_the_newest_post_seen_and_stores_each_post_once(x: X, db: Database) -> None:
    first = await sync(x)
    newest = max(int(p["id"]) for p in x.edge.x.posts)
    newest_mention = max(int(p["id"]) for p in x.edge.x.posts if "@alexr_builds" in p["text"])
    x.edge.x.posts.append(x.edge.x._post(str(newest + 1), "2244994945", "@alexr_builds new today", 1))
    second = await sync(x)
    home, mentions = (r for r in x.edge.requests[-2:])
    assert home.url.params["since_id"] == str(newest) and mentions.url.params["since_id"] == str(newest_mention)
    assert (first["home_new"], second["home_new"], second["mentions_new"]) == (5, 1, 1)
    timeline = await call(x.client, x.tokens, "home_timeline", {"limit": 50}, "social.read")
    ids = [p["id"] for p in timeline["posts"]]
    assert len(ids) == len(set(ids)) == 6 and ids[0] == str(newest + 1)  # in both streams, stored once


async def test_a_rate_limit_leaves_the_rest_for_the_next_run_and_nothing_is_lost(x: X) -> None:
    reset = str(int(time.time()) + 600)  # X's reset is 10 minutes away: not waited out

    def limited(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/mentions"):
            return httpx.Response(429, json={"title": "Too Many Requests"}, headers={"x-rate-limit-reset": reset})
        return None

    x.edge.fault = limited
    out = await sync(x)
    assert out["deferred"] is True and 590 <= out["retry_after_s"] <= 600 and out["home_new"] == 5
    assert (await call(x.client, x.tokens, "mentions", {}, "social.read"))["posts"] == []
    x.edge.fault = None
    again = await sync(x)
    assert again["deferred"] is False and (again["home_new"], again["mentions_new"]) == (0, 2)
    assert "since_id" not in x.edge.requests[-1].url.params  # mentions start again from where they were
    assert len((await call(x.client, x.tokens, "mentions", {}, "social.read"))["posts"]) == 2


async def test_pages_are_followed_and_the_cursor_is_the_newest_post_of_the_first_page(x: X) -> None:
    posts = sorted(x.edge.x.posts, key=lambda p: int(p["id"]), reverse=True)
    sent: list[httpx.Request] = []

    def paged(request: httpx.Request) -> httpx.Response | None:
        if not request.url.path.endswith("/reverse_chronological"):
            return None
        sent.append(request)
        second = request.url.params.get("pagination_token") == "next-2"
        data = posts[3:] if second else posts[:3]
        meta = {"result_count": len(data), "newest_id": data[0]["id"], **({} if second else {"next_token": "next-2"})}
        return httpx.Response(200, json={"data": data, "includes": {"users": []}, "meta": meta})

    x.edge.fault = paged
    out = await sync(x)
    assert out["home_new"] == 5 and len(sent) == 2 and sent[1].url.params["pagination_token"] == "next-2"
    await sync(x)
    assert sent[-1].url.params["since_id"] == posts[0]["id"]


async def test_old_posts_are_pruned(x: X) -> None:
    x.edge.x.now = x.edge.x.now - timedelta(days=20)
    x.edge.x.posts.clear()
    x.edge.x.__post_init__()  # the same timeline, three weeks old
    out = await sync(x)
    assert out["home_new"] == 5 and out["pruned"] == 5
    assert (await call(x.client, x.tokens, "home_timeline", {}, "social.read"))["posts"] == []


async def test_on_the_free_tier_the_sync_skips_reads_with_a_notice_and_posting_still_works(x: X) -> None:
    x.edge.x.tier = "free"
    out = await sync(x)
    assert out["reads"] == "off" and out["notice"] == TIER_NOTICE
    asked = len(x.edge.requests)
    again = await sync(x)
    assert again["reads"] == "off" and len(x.edge.requests) == asked  # X is not asked (or billed) again
    read = await call(x.client, x.tokens, "home_timeline", {}, "social.read")
    assert read["posts"] == [] and read["notice"] == TIER_NOTICE
    status = await call(x.client, x.tokens, "status", {}, "social.read")
    assert [a["reason"] for a in status["attention"]] == ["client-not-enrolled"]
    result = await x.post("Posting works on the free tier.", "call-free")
    assert not result.is_error, result.content
    assert len(x.edge.x.created) == 1


async def test_a_retried_approval_publishes_once(x: X) -> None:
    first = await x.post("One approved post.", "call-7")
    second = await x.post("One approved post.", "call-7")
    assert not first.is_error and not second.is_error
    a, b = first.structured_content or {}, second.structured_content or {}
    assert a["already_done"] is False and b["already_done"] is True and a["id"] == b["id"]
    assert a["url"] == f"https://x.com/i/web/status/{a['id']}"
    assert len(x.edge.x.created) == 1 and sum(r.method == "POST" for r in x.edge.requests) == 1


async def test_a_retry_after_the_answer_was_lost_does_not_post_twice(x: X) -> None:
    x.edge.lose_answer = True
    lost = await x.post("Published while the line dropped.", "call-9")
    assert lost.is_error and len(x.edge.x.created) == 1  # X published it; we never heard back
    retry = await x.post("Published while the line dropped.", "call-9")
    assert not retry.is_error, retry.content
    assert (retry.structured_content or {})["already_done"] is True
    assert len(x.edge.x.created) == 1


async def test_refusals_send_nothing(x: X) -> None:
    too_long = await x.post("漢" * 141, "call-long")
    assert too_long.is_error and "282 of X's 280" in str(too_long.content)
    no_call = await x.post("No approval id.", None)
    assert no_call.is_error and "approved call" in str(no_call.content)
    assert not (await x.post("The approved text.", "call-3")).is_error
    swapped = await x.post("Another text under the same approval.", "call-3")
    assert swapped.is_error and "another text" in str(swapped.content)
    assert [p["text"] for p in x.edge.x.posts if p["author_id"] == OWNER_ID] == ["The approved text."]


async def test_the_sync_keeps_the_engagement_of_published_posts_for_the_content_channel(x: X) -> None:
    posted = (await x.post("Metrics please.", "call-m")).structured_content or {}
    empty = await call(x.client, x.tokens, "post_metrics", {}, "social.read")
    assert [p["metrics"] for p in empty["posts"]] == [{}]  # not synced yet
    out = await sync(x)
    assert out["metrics"] == 1 and "ids" in x.edge.requests[-1].url.params
    got = await call(x.client, x.tokens, "post_metrics", {"ids": [posted["id"], "42"]}, "social.read")
    assert [p["id"] for p in got["posts"]] == [posted["id"]] and got["unknown"] == ["42"]
    metrics = got["posts"][0]["metrics"]
    assert set(metrics) >= {"like_count", "retweet_count", "impression_count"}
    assert all(type(v) is int for v in metrics.values())
    mine = await call(x.client, x.tokens, "published", {"limit": 5}, "social.read")
    assert mine["posts"] == [
        {
            "id": posted["id"],
            "text": "Metrics please.",
            "url": posted["url"],
            "posted_at": mine["posts"][0]["posted_at"],
        }
    ]
    assert mine["posts"][0]["posted_at"].startswith(str(x.edge.x.now.year))
    measured = await call(
        x.client, x.tokens, "measure", {"text": "漢" * 10 + " https://example.org/a/long/path"}, "social.read"
    )
    assert measured == {"length": 20 + 1 + 23, "limit": 280}


async def test_deleting_a_published_post(x: X) -> None:
    posted = (await x.post("Delete me later.", "call-m")).structured_content or {}
    meta = cast(RequestParamsMeta, {TOKEN_META: x.tokens.mint("social.post"), "aegis/call": "call-d"})
    gone = await x.client.call_tool("delete_post", {"post_id": posted["id"]}, meta=meta)
    assert (gone.structured_content or {})["deleted"] is True
    assert x.edge.requests[-1].method == "DELETE" and x.edge.x.created[0] not in [p["id"] for p in x.edge.x.posts]
    assert (await call(x.client, x.tokens, "published", {}, "social.read"))["posts"] == []


async def test_disconnect_forgets_everything_stored_and_says_the_tokens_are_revoked_at_x(x: X, db: Database) -> None:
    await x.post("Kept until disconnect.", "call-k")
    await sync(x)
    asked = len(x.edge.requests)
    out = await call(x.client, x.tokens, "disconnect", {}, "social.link")
    assert len(x.edge.requests) == asked  # nothing to revoke through the API
    assert out["removed"] == [] and out["deleted"] == {"posts": 6, "published": 1}
    assert "developer console" in out["note"] and "revoke" in out["note"]
    for table in ("twitter_feed", "twitter_posts", "twitter_cursors"):
        async with db.transaction() as s:
            assert (await s.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one() == 0
    read = await call(x.client, x.tokens, "home_timeline", {}, "social.read")
    assert read["posts"] == [] and read["synced_at"] is None
    refused = await x.client.call_tool("disconnect", {}, meta=x.tokens.meta("social.read"))
    assert refused.is_error  # the console's scope only
