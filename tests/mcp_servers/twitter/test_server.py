"""The X server over the demo X (faked only at the HTTP edge), with token-checked calls and a real store."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, cast

import httpx
import pytest
from mcp import Client
from mcp.types import RequestParamsMeta

from broker.tokens import SigningKey
from mcp_servers._common import TOKEN_META, CallGate, audit_log
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

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.x.handle(request)
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
        service = XService(client, store)
        server = build_server(XDeps(service=service, gate=make_gate("twitter")))
        async with Client(server) as mcp_client:
            yield X(mcp_client, Tokens(signing_key, clock, "twitter"), edge, service)


async def test_timeline_posts_are_named_by_their_authors_as_sources(x: X) -> None:
    out = await call(x.client, x.tokens, "home_timeline", {"limit": 5}, "social.read")
    assert len(out["posts"]) == 5
    by_id = {s["item_id"]: s for s in out["sources"]}
    for post in out["posts"]:
        source = by_id[post["id"]]
        assert source["channel"] == "social" and source["principal"] == post["author"]
        assert post["author"].startswith("@") and post["author"] != "@alexr_builds"
    mentions = await call(x.client, x.tokens, "mentions", {"limit": 2}, "social.read")
    assert len(mentions["posts"]) == 2 and all("@alexr_builds" in p["text"] for p in mentions["posts"])
    assert all(re.fullmatch(r"\w{3} \d{2} \w{3} \d{2}:\d{2} UTC", p["when"]) for p in mentions["posts"])
    assert x.edge.requests[-1].url.params["max_results"] == "5"  # X's minimum page, cut to the limit


async def test_on_the_free_tier_reads_switch_off_with_a_notice_and_posting_still_works(x: X) -> None:
    x.edge.x.tier = "free"
    out = await call(x.client, x.tokens, "home_timeline", {}, "social.read")
    assert out["posts"] == [] and out["notice"] == TIER_NOTICE
    asked = len(x.edge.requests)
    again = await call(x.client, x.tokens, "mentions", {}, "social.read")
    assert again["notice"] == TIER_NOTICE and len(x.edge.requests) == asked  # X is not asked (or billed) again
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


async def test_metrics_of_published_posts_and_deleting_one(x: X) -> None:
    posted = (await x.post("Metrics please.", "call-m")).structured_content or {}
    out = await call(x.client, x.tokens, "post_metrics", {}, "social.read")
    assert [p["id"] for p in out["posts"]] == [posted["id"]] and "like_count" in out["posts"][0]["metrics"]
    meta = cast(RequestParamsMeta, {TOKEN_META: x.tokens.mint("social.post"), "aegis/call": "call-d"})
    gone = await x.client.call_tool("delete_post", {"post_id": posted["id"]}, meta=meta)
    assert (gone.structured_content or {})["deleted"] is True
    assert x.edge.requests[-1].method == "DELETE" and x.edge.x.created[0] not in [p["id"] for p in x.edge.x.posts]
