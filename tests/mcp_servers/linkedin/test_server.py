"""The LinkedIn server on the demo member: who am I, a post published exactly once per approval
(across a retry, a lost answer and a crash before LinkedIn answered), the length check before
anything is stored or sent (and ``measure``, counting the same way), the approved text stored
encrypted, the demo feed read in the browser (one launch), and disconnect."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, cast

import httpx
import pytest
from mcp import Client
from mcp.types import CallToolResult, RequestParamsMeta, TextContent
from sqlalchemy import select

from mcp_servers._common import Demo
from mcp_servers._standalone import demo_runtime
from mcp_servers.linkedin.__main__ import build
from mcp_servers.linkedin.models import LinkedInPostRow
from storage.db import Database
from tools.browser.session import CHROMIUM
from tools.linkedin import demo

pytestmark = pytest.mark.anyio
Fault = Callable[[httpx.Request], httpx.Response | None]


@dataclass
class Live:
    client: Client
    linkedin: demo.DemoLinkedIn
    faults: list[Fault]

    async def call(self, tool: str, args: dict[str, Any] | None = None, call: str | None = None) -> CallToolResult:
        meta = None if call is None else cast(RequestParamsMeta, {"aegis/call": call})
        result = await self.client.call_tool(tool, args or {}, meta=meta)
        assert isinstance(result, CallToolResult)
        return result

    def posts_sent(self) -> list[httpx.Request]:
        return [r for r in self.linkedin.requests if r.url.path == "/rest/posts"]


def _text(result: CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


@pytest.fixture
async def live(db: Database) -> AsyncIterator[Live]:
    linkedin, faults = demo.DemoLinkedIn(), cast(list[Fault], [])

    def edge(request: httpx.Request) -> httpx.Response:
        for fault in faults:
            out = fault(request)
            if out is not None:
                linkedin.requests.append(request)
                return out
        answer: httpx.Response = linkedin.handle(request)
        return answer

    vendor = Demo(demo.demo_credentials(), httpx.MockTransport(edge))
    async with demo_runtime("linkedin", "social", vendor, db=db) as runtime, Client(build(runtime)) as client:
        yield Live(client, linkedin, faults)


async def test_whoami_names_the_demo_member_and_their_author_urn(live: Live) -> None:
    me = (await live.call("whoami")).structured_content
    assert me == {
        "connected": True,
        "name": "Jordan Avery",
        "email": "jordan.avery@example.com",
        "author": f"urn:li:person:{demo.DEMO_SUB}",
    }


async def test_an_approved_post_is_published_once_and_a_retry_of_the_same_approval_sends_nothing(
    live: Live, db: Database
) -> None:
    first = (await live.call("post", {"text": "Three things I learned this term."}, call="call-1")).structured_content
    assert first is not None and first["state"] == "published" and not first["already"]
    assert first["post_id"] == "urn:li:share:7400000000000000000"
    assert first["link"] == "https://www.linkedin.com/feed/update/urn:li:share:7400000000000000000/"

    again = (await live.call("post", {"text": "Three things I learned this term."}, call="call-1")).structured_content
    assert again is not None and again["already"] and again["post_id"] == first["post_id"]
    assert len(live.posts_sent()) == 1 and len(live.linkedin.posts) == 1

    other = await live.call("post", {"text": "Something else entirely."}, call="call-1")
    assert other.is_error and "another text" in _text(other) and len(live.posts_sent()) == 1

    listed = (await live.call("posts")).structured_content
    assert listed is not None
    assert [(p["post_id"], p["text"]) for p in listed["posts"]] == [
        (first["post_id"], "Three things I learned this term.")
    ]
    async with db.transaction() as s:
        row = (await s.execute(select(LinkedInPostRow))).scalar_one()
    assert b"Three things" not in bytes(row.text)  # the approved text is stored encrypted


async def test_a_lost_answer_is_never_posted_again_for_that_approval(live: Live) -> None:
    def lost(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/rest/posts":
            live.linkedin.handle(request)  # LinkedIn published it, but the answer never arrived
            raise httpx.ReadTimeout("read timed out", request=request)
        return None

    live.faults.append(lost)
    out = await live.call("post", {"text": "Published, answer lost."}, call="call-7")
    assert out.is_error and "unavailable" in _text(out)
    live.faults.clear()
    again = (await live.call("post", {"text": "Published, answer lost."}, call="call-7")).structured_content
    assert again is not None and again["already"] and again["state"] == "unknown" and "may be live" in again["note"]
    assert len(live.linkedin.posts) == 1


async def test_a_refused_post_can_be_retried_and_then_publishes_once(live: Live) -> None:
    def expired(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/rest/posts":
            return httpx.Response(
                401,
                json={
                    "serviceErrorCode": 65601,
                    "message": "The token used in the request has been revoked by the user",
                    "status": 401,
                },
            )
        return None

    live.faults.append(expired)
    out = await live.call("post", {"text": "After a reconnect."}, call="call-9")
    assert out.is_error and "reconnect" in _text(out) and demo.DEMO_TOKEN not in _text(out)
    live.faults.clear()
    done = (await live.call("post", {"text": "After a reconnect."}, call="call-9")).structured_content
    assert done is not None and done["state"] == "published" and not done["already"]
    assert len(live.linkedin.posts) == 1


async def test_a_post_over_the_limit_or_without_an_approved_call_sends_and_stores_nothing(live: Live) -> None:
    long = await live.call("post", {"text": "x" * 3001}, call="call-2")
    assert long.is_error and "3001 characters" in _text(long) and "3000" in _text(long)
    bare = await live.call("post", {"text": "No approval id."})
    assert bare.is_error and "approved call" in _text(bare)
    assert live.posts_sent() == []
    assert (await live.call("posts")).structured_content == {"posts": []}


async def test_disconnect_forgets_the_token_and_deletes_the_posts(live: Live) -> None:
    await live.call("post", {"text": "Before disconnecting."}, call="call-3")
    gone = (await live.call("disconnect")).structured_content
    assert gone is not None and gone["deleted_posts"] == 1 and gone["token_removed"]
    assert (await live.call("posts")).structured_content == {"posts": []}
    after = await live.call("whoami")
    assert after.is_error and "reconnect" in _text(after)


async def test_measure_counts_as_the_post_check_does(live: Live) -> None:
    assert (await live.call("measure", {"text": "é" * 3001})).structured_content == {"length": 3001, "limit": 3000}
    long = await live.call("post", {"text": "é" * 3001}, call="call-4")
    assert long.is_error and "3001 characters" in _text(long)  # the same count refuses the post
    assert (await live.call("measure", {"text": "Short."})).structured_content == {"length": 6, "limit": 3000}


async def test_the_demo_feed_is_read_in_the_browser_and_disconnect_forgets_it(live: Live) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    synced = (await live.call("sync")).structured_content
    assert synced is not None and synced["state"] == "read" and synced["fetched"] == 4  # the promoted post skipped
    assert [r.url.path for r in live.linkedin.requests if r.url.host == "www.linkedin.com"] == ["/feed/"]
    feed = (await live.call("feed", {"days": 7})).structured_content
    assert feed is not None and feed["attention"] is None
    assert [p["author"] for p in feed["posts"]][:2] == [
        "Maya Chen",
        "Drexel University College of Computing & Informatics",
    ]
    assert feed["sources"][0] == {
        "channel": "social",
        "server": "linkedin",
        "item_id": "urn:li:activity:7401100000000000101",
        "principal": "https://www.linkedin.com/in/maya-chen-ml",
    }
    status = (await live.call("status")).structured_content
    assert status is not None and status["attention"] == [] and status["synced_at"] is not None
    gone = (await live.call("disconnect")).structured_content
    assert gone is not None and gone["deleted_feed"] == 4 and gone["session_removed"]
    assert (await live.call("feed")).structured_content == {
        "posts": [],
        "sources": [],
        "attention": None,
        "synced_at": None,
    }
    off = (await live.call("sync")).structured_content
    assert off is not None and off["state"] == "off"
