"""Meeting prep over Google Calendar and Gmail as they answer: today's Google meetings, each with the
latest Gmail threads with its people and what is still open there (integrations.prep composes the
two servers' real results)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from mcp import Client

from broker.tokens import SigningKey
from integrations import prep
from mcp_servers._common import CallGate
from mcp_servers.gmail.server import GmailDeps
from mcp_servers.gmail.server import build_server as build_gmail
from mcp_servers.gmail.service import GmailService
from mcp_servers.gmail.store import MailStore
from storage.audit import AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from tests.mcp_servers.conftest import NO_RETRY_WAIT, Clock, Gmail, Tokens, call
from tests.mcp_servers.gcalendar.conftest import Cal
from tools._http import build_http_client
from tools.credentials import StaticCredentials
from tools.gcalendar.demo_data import calendar as cal_data
from tools.gmail.client import GmailClient
from tools.gmail.demo import DemoMailbox, demo_credentials, demo_transport

pytestmark = pytest.mark.anyio


@pytest.fixture
async def mail(
    db: Database, cipher: FieldCipher, mail_audit: AuditLog, make_gate: Callable[[str], CallGate],
    signing_key: SigningKey, clock: Clock,
) -> AsyncIterator[Gmail]:  # fmt: skip
    mailbox = DemoMailbox(today=datetime.now(UTC).date())  # the demo profile's mailbox: mail of the last week
    async with build_http_client(transport=demo_transport(mailbox)) as http:
        client = GmailClient(http, StaticCredentials(demo_credentials()), retry=NO_RETRY_WAIT)
        service = GmailService(client, MailStore(db, cipher), db, mail_audit)
        async with Client(build_gmail(GmailDeps(service=service, gate=make_gate("gmail")))) as mcp_client:
            yield Gmail(mcp_client, Tokens(signing_key, clock, "gmail"), mailbox, service, db)


def _calls(gcal: Cal, mail: Gmail, seen: list[Any]) -> prep.Call:
    async def one(tool: str, args: dict[str, Any]) -> Any:
        if tool == "gcalendar.events":
            out = await call(gcal.client, gcal.tokens, "events", args, "calendar.read")
        else:
            assert tool == "gmail.threads_with"
            out = await call(mail.client, mail.tokens, "threads_with", args, "mail.read")
        seen.append(out)
        return out

    return one


async def _day_of(gcal: Cal, summary: str) -> date:
    today = datetime.now(UTC).date()
    args = {"start": (today - timedelta(days=1)).isoformat(), "end": (today + timedelta(days=2)).isoformat()}
    found = await call(gcal.client, gcal.tokens, "events", args, "calendar.read")
    return next(datetime.fromisoformat(e["start"]).date() for e in found["events"] if e["title"] == summary)


async def test_todays_google_meetings_come_with_the_gmail_threads_with_their_people(gcal: Cal, mail: Gmail) -> None:
    await call(mail.client, mail.tokens, "sync", {}, "mail.read")
    day = await _day_of(gcal, "1:1 with Dana")
    seen: list[Any] = []
    cals, boxes = [prep.Source("Google Calendar", "gcalendar.events")], [prep.Source("Gmail", "gmail.threads_with")]
    found, failed = await prep.meetings(cals, boxes, _calls(gcal, mail, seen), day)
    assert failed == []
    by_title = {m["title"]: m for m in found["meetings"]}
    dana = by_title["1:1 with Dana"]
    assert dana["people"] == [cal_data.DANA] and dana["calendar"] == "Google Calendar"
    assert dana["prep"].startswith(f"With {cal_data.DANA}. Last thread (Gmail): Re: Q4 planning doc")
    assert dana["prep"].endswith("Open: nothing open")  # the owner wrote last in that thread
    standup = by_title["Team standup"]  # organized by the owner: only Lee is someone to prepare for
    assert standup["people"] == [cal_data.LEE] and "Q4 planning doc" in standup["prep"]
    assert cal_data.OWNER not in {p for m in found["meetings"] for p in m["people"]}
    # provenance travels with each result: the event's organizer, each thread message's sender
    principals = {s["principal"] for out in seen for s in out["sources"]}
    assert {cal_data.DANA, "dana.whitfield@northwind.example", "lee.chen@northwind.example"} <= principals
