"""Needs attention, end to end over a real MCP client: a Pearson sync that meets an emailed-code prompt
stops, records the reason with an encrypted snapshot of the page, every read then answers with the
reason (never an empty list), the owner can open the snapshot, and the next good run clears it."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from mcp import Client
from sqlalchemy import text

from mcp_servers._common import CallGate, audit_log
from mcp_servers._coursework import LmsStore, Reads
from mcp_servers._lms_sync import vault_cookies
from mcp_servers._secrets import MemorySecretStore
from mcp_servers.pearson.models import TABLES
from mcp_servers.pearson.server import build_server
from mcp_servers.pearson.service import PearsonSource
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.tools.browser.loopback import Site, serve
from tools.browser.session import BrowserRunner
from tools.credentials import StaticCredentials, from_one_line

pytestmark = pytest.mark.anyio
FIXTURES = Path(__file__).parents[2] / "tools" / "pearson" / "fixtures"
PAGES = {"/course-home": "courses.html", "/course/chem102-w26/assignments": "assignments.html"}
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
LOGIN = json.dumps({"username": "owner", "password": "correct horse"})


def _text(result: object) -> str:
    return " ".join(getattr(c, "text", "") for c in getattr(result, "content", []))


async def test_a_stopped_run_needs_attention_until_a_good_run(db: Database, runner: BrowserRunner) -> None:
    keyring = Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("coursework", "chain") for p in ("enc", "idx")]
    )
    store = LmsStore(db, FieldCipher(keyring), TABLES, "coursework")
    site = Site(FIXTURES, PAGES, login_page="login.html", after_login="mfa.html")
    with serve(site) as url:
        vault = StaticCredentials({"pearson-login": LOGIN})
        jar = vault_cookies(vault, MemorySecretStore(vault), "pearson")
        source = PearsonSource(vault, store, runner, jar, site=url)
        gate = CallGate(server="pearson", resource="mcp:pearson", verify=None)
        reads = Reads("pearson", "Pearson Mastering", store, gate, lambda: NOW)
        async with Client(build_server(reads, source, audit_log(keyring, "coursework"))) as client:
            stopped = await client.call_tool("sync", {})
            assert stopped.is_error and "needs attention (mfa)" in _text(stopped)
            assert "correct horse" not in _text(stopped)

            status = (await client.call_tool("status", {})).structured_content
            assert status is not None and status["mode"] == "browser"
            (attention,) = status["attention"]
            assert attention["reason"] == "mfa" and attention["snapshot_id"]

            week = {"start": date(2026, 12, 1).isoformat(), "end": date(2026, 12, 7).isoformat()}
            for tool, args in (("deadlines", week), ("not_started", {}), ("list_courses", {})):
                answer = await client.call_tool(tool, args)
                assert answer.is_error and "needs attention (mfa)" in _text(answer), tool  # never "nothing due"

            snap = (await client.call_tool("snapshot", {"snapshot_id": attention["snapshot_id"]})).structured_content
            assert snap is not None and snap["reason"] == "mfa" and "verification code" in snap["html"]
            assert base64.b64decode(snap["png"]).startswith(b"\x89PNG")
            async with db.transaction() as s:
                blob = (await s.execute(text("SELECT data FROM pearson_snapshots"))).scalar_one()
            assert b"verification" not in bytes(blob) and b"PNG" not in bytes(blob)  # sealed at rest

            site.after_login = None  # the owner approved the sign-in
            ok = await client.call_tool("sync", {})
            assert not ok.is_error and ok.structured_content == {
                "courses": 1,
                "work": 3,
                "announcements": 0,
                "mode": "browser",
            }
            assert (await client.call_tool("status", {})).structured_content["attention"] == []
            due = (await client.call_tool("deadlines", week)).structured_content
            assert due is not None
            assert [(a["name"], a["status"], a["source"]) for a in due["assignments"]] == [
                ("Chapter 13 Reading Quiz", "overdue", "Pearson Mastering"),
                ("Chapter 14 Homework: Chemical Kinetics", "not submitted", "Pearson Mastering"),
            ]


async def test_the_login_session_is_kept_in_the_vault_not_in_a_table(db: Database, runner: BrowserRunner) -> None:
    keyring = Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("coursework", "chain") for p in ("enc", "idx")]
    )
    store = LmsStore(db, FieldCipher(keyring), TABLES, "coursework")
    vault = StaticCredentials({"pearson-login": LOGIN})
    written = MemorySecretStore(vault)
    site = Site(FIXTURES, PAGES, login_page="login.html")
    with serve(site) as url:
        jar = vault_cookies(vault, written, "pearson")
        source = PearsonSource(vault, store, runner, jar, site=url)
        gate = CallGate(server="pearson", resource="mcp:pearson", verify=None)
        reads = Reads("pearson", "Pearson Mastering", store, gate, lambda: NOW)
        async with Client(build_server(reads, source, audit_log(keyring, "coursework"))) as client:
            assert not (await client.call_tool("sync", {})).is_error
    assert written.names and set(written.names) == {"pearson-cookies"}
    assert json.loads(from_one_line(await vault.get("pearson-cookies")))  # the session, in the vault
    async with db.transaction() as s:
        assert (await s.execute(text("SELECT count(*) FROM pearson_cookies"))).scalar_one() == 0
