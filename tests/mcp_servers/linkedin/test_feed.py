"""The LinkedIn feed over a real MCP client: a run that meets LinkedIn's security checkpoint stops
there, keeps an encrypted snapshot, shows "needs attention" with its reason, and later runs fetch
nothing until the owner stores a fresh session; posts are kept encrypted and deduplicated by their
id; a run is at most one a sync slot; no session means the feed is simply off. One browser launch."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from playwright.async_api import Page
from sqlalchemy import select

from mcp_servers._common import CallGate, audit_log
from mcp_servers.linkedin.feed_server import register_feed
from mcp_servers.linkedin.feed_service import FeedReader
from mcp_servers.linkedin.feed_store import FeedStore
from mcp_servers.linkedin.models import LinkedInFeedRow
from storage.audit import AuditEvent
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.tools.browser.loopback import chromium_runner  # noqa: F401 - the Chromium runner fixture
from tests.tools.linkedin.loopback import CHECKPOINT, SESSION, LinkedInSite, serve
from tools.browser.pages import NeedsAttention
from tools.browser.session import BrowserRunner, Session
from tools.credentials import StaticCredentials
from tools.linkedin.feed import FeedPost

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
EVENT = AuditEvent("mcp-linkedin", "social.feed_sync", "ok", resource="mcp-linkedin")


def _text(result: Any) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


async def _no_sleep(_seconds: float) -> None:
    return None


@dataclass
class CountingRunner:
    """Stands in for the browser: records each run that got as far as opening it."""

    opened: list[str] = field(default_factory=list)

    @asynccontextmanager
    async def session(self, source: Any, jar: Any, snapshots: Any, **_: Any) -> AsyncIterator[Session]:
        self.opened.append(source.base_url)
        if source.base_url:  # always: the page never loads
            raise NeedsAttention("unreachable", "the site did not load", integration="linkedin")
        yield Session(source, cast(Page, None), _no_sleep)


@pytest.fixture
def store(db: Database) -> FeedStore:
    keyring = Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("social", "chain") for p in ("enc", "idx")]
    )
    return FeedStore(db, FieldCipher(keyring), audit_log(keyring, "social"))


def _server(reader: FeedReader, store: FeedStore) -> MCPServer:
    server = MCPServer("linkedin")
    register_feed(server, CallGate(server="linkedin", resource="mcp:linkedin", verify=None), reader, store)
    return server


def _post(n: int, text: str, hours: int) -> FeedPost:
    return FeedPost(f"urn:li:activity:74011000000000{n:05d}", f"Author {n}", None, text, NOW - timedelta(hours=hours))


async def test_the_first_checkpoint_stops_the_feed_until_the_owner_stores_a_fresh_session(
    store: FeedStore, runner: BrowserRunner
) -> None:
    site = LinkedInSite(challenge=True)
    vault = StaticCredentials({"linkedin-session": SESSION})
    with serve(site) as url:
        reader = FeedReader(vault, store, runner, lambda: NOW, site=url, start_wait=(0, 0), sleep=_no_sleep)
        async with Client(_server(reader, store)) as client:
            stopped = await client.call_tool("sync", {})
            assert stopped.is_error and "needs attention (captcha)" in _text(stopped)
            assert SESSION not in _text(stopped)
            assert site.seen == ["/feed/", CHECKPOINT]

            status = (await client.call_tool("status", {})).structured_content
            assert status is not None and status["mode"] == "browser" and status["synced_at"] is None
            [attention] = status["attention"]
            assert attention["reason"] == "captcha" and "security check" in attention["detail"]
            shot = (await client.call_tool("snapshot", {"snapshot_id": attention["snapshot_id"]})).structured_content
            assert shot is not None and "quick security check" in shot["html"]
            assert base64.b64decode(shot["png"]).startswith(b"\x89PNG")

            again = await client.call_tool("sync", {})
            assert again.is_error and "Nothing was fetched" in _text(again)
            assert site.seen == ["/feed/", CHECKPOINT]  # not one more request to LinkedIn
            feed = (await client.call_tool("feed", {})).structured_content
            assert feed is not None and feed["posts"] == [] and feed["attention"].startswith("captcha")

            counting = CountingRunner()
            reader.runner = counting
            vault.set("linkedin-session", SESSION + "fresh")  # the owner passed the check, stored a new one
            retried = await client.call_tool("sync", {})
            assert counting.opened == [url]  # a fresh session is tried at once, slot or not
            assert retried.is_error and "needs attention (unreachable)" in _text(retried)


async def test_posts_are_kept_encrypted_and_the_same_post_is_one_row(store: FeedStore, db: Database) -> None:
    first = [_post(1, "Secret-ish thoughts on retrieval", 2), _post(2, "Co-op session Thursday", 5)]
    assert await store.store(first, EVENT) == 2
    again = [_post(2, "Co-op session Thursday (edited)", 5), _post(3, "Old news", 24 * 5)]
    assert await store.store(again, EVENT) == 1
    async with db.transaction() as s:
        rows = (await s.execute(select(LinkedInFeedRow))).scalars().all()
    assert sorted(r.post_id for r in rows) == sorted({p.post_id for p in first + again})
    assert all(b"retrieval" not in r.data and b"Co-op" not in r.data for r in rows)
    recent = await store.recent(10, NOW - timedelta(days=3))
    assert [p.text for p in recent] == ["Secret-ish thoughts on retrieval", "Co-op session Thursday (edited)"]


async def test_one_run_a_slot_and_no_session_means_off(store: FeedStore) -> None:
    counting = CountingRunner()
    vault = StaticCredentials({})
    reader = FeedReader(vault, store, counting, lambda: NOW, start_wait=(0, 0), sleep=_no_sleep)
    async with Client(_server(reader, store)) as client:
        off = (await client.call_tool("sync", {})).structured_content
        assert off is not None and off["state"] == "off" and "linkedin-session" in off["note"]

        vault.set("linkedin-session", SESSION)
        await store.attempt(NOW - timedelta(minutes=30))
        skipped = (await client.call_tool("sync", {})).structured_content
        assert skipped is not None and skipped["state"] == "skipped" and counting.opened == []

        await store.attempt(NOW - timedelta(hours=2))
        failed = await client.call_tool("sync", {})  # the next slot runs (this stand-in fails to load)
        assert failed.is_error and counting.opened == ["https://www.linkedin.com"]
        status = (await client.call_tool("status", {})).structured_content
        assert status is not None and status["attention"][0]["reason"] == "unreachable"

        again = await client.call_tool("sync", {})  # a page that did not load is no challenge, but the slot holds
        assert not again.is_error and counting.opened == ["https://www.linkedin.com"]
