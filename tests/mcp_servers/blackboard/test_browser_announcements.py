"""Blackboard without an application key: a browser sync reads each course's announcements page too,
stores the posts encrypted, and the ``announcements`` tool answers them with their provenance (the
coursework channel, the Blackboard server and each post's id: untrusted text written by course staff),
over a real MCP client. Text the page hides never gets as far as the store."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import httpx
import pytest
from mcp import Client
from sqlalchemy import text

from mcp_servers._common import CallGate, audit_log
from mcp_servers._coursework import LmsStore, Reads
from mcp_servers._lms_sync import vault_cookies
from mcp_servers._secrets import MemorySecretStore
from mcp_servers.blackboard.models import TABLES
from mcp_servers.blackboard.server import build_server
from mcp_servers.blackboard.service import BlackboardSource
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.mcp_servers.blackboard.test_disconnect import FIXTURES, PAGES
from tests.tools.browser.loopback import Site, serve
from tools.blackboard.client import BlackboardClient
from tools.browser.session import BrowserRunner
from tools.credentials import StaticCredentials

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _no_rest(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no REST call expected without an application key: {request.url}")


async def test_browser_announcements_carry_their_provenance(db: Database, runner: BrowserRunner) -> None:
    keyring = Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("coursework", "chain") for p in ("enc", "idx")]
    )
    store = LmsStore(db, FieldCipher(keyring), TABLES, "coursework")
    vault = StaticCredentials({"blackboard-login": json.dumps({"username": "owner", "password": "correct horse"})})
    secrets = MemorySecretStore(vault)
    async with httpx.AsyncClient(transport=httpx.MockTransport(_no_rest)) as rest:
        with serve(Site(FIXTURES, PAGES, login_page="login.html")) as url:
            jar = vault_cookies(vault, secrets, "blackboard")
            source = BlackboardSource(BlackboardClient(rest, vault), vault, store, runner, jar, site=url)
            gate = CallGate(server="blackboard", resource="mcp:blackboard", verify=None)
            reads = Reads("blackboard", "Blackboard", store, gate, lambda: NOW)
            async with Client(build_server(reads, source, audit_log(keyring, "coursework"), secrets)) as client:
                synced = await client.call_tool("sync", {})
                assert synced.structured_content == {"courses": 2, "work": 4, "announcements": 2, "mode": "browser"}
                answer = (await client.call_tool("announcements", {"days": 7})).structured_content
    assert answer is not None
    posts = {a["id"]: a for a in answer["announcements"]}
    assert set(posts) == {"_701_1", "_709_1"}
    assert posts["_701_1"]["course"] == "MATH 201" and posts["_701_1"]["author"] == "Dr. Alvarez"
    assert posts["_701_1"]["posted_at"] == "2026-12-01T14:59:00+00:00"
    assert "grade-audit@drexel-registrar.example" in posts["_709_1"]["message"]
    assert "password" not in json.dumps(answer)  # the hidden line was never read
    assert sorted(answer["sources"], key=lambda s: s["item_id"]) == [
        {"channel": "coursework", "server": "blackboard", "item_id": "announcement:_701_1", "principal": None},
        {"channel": "coursework", "server": "blackboard", "item_id": "announcement:_709_1", "principal": None},
    ]
    async with db.transaction() as s:
        blobs = (await s.execute(text("SELECT data FROM blackboard_notices"))).scalars().all()
    assert len(blobs) == 2 and all(b"Korman" not in bytes(b) and b"grade-audit" not in bytes(b) for b in blobs)
