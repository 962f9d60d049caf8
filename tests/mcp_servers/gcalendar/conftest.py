"""The Google Calendar server over the demo calendar (the vendor faked only at the HTTP edge)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
import pytest
from mcp import Client

from broker.tokens import SigningKey
from mcp_servers._common import CallGate, audit_log
from mcp_servers.gcalendar.server import CalendarDeps, build_server
from mcp_servers.gcalendar.service import CalendarService
from mcp_servers.gcalendar.store import EventStore
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.mcp_servers.conftest import NO_RETRY_WAIT, Clock, Tokens
from tests.mcp_servers.outlook.conftest import mail_keyring, outlook  # noqa: F401 - for the cross-calendar tests
from tools._http import build_http_client
from tools.credentials import StaticCredentials
from tools.gcalendar.client import CalendarClient
from tools.gcalendar.demo import DemoCalendar, demo_credentials


@dataclass
class Edge:
    """The vendor side: the demo calendar, every request recorded."""

    calendar: DemoCalendar
    requests: list[httpx.Request] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.calendar.handler(request)


@dataclass
class Cal:
    client: Client
    tokens: Tokens
    edge: Edge
    service: CalendarService
    db: Database

    @property
    def calendar(self) -> DemoCalendar:
        return self.edge.calendar


@pytest.fixture
def calendar_keyring() -> Keyring:
    return Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("calendar", "chain") for p in ("enc", "idx")]
    )


@pytest.fixture
async def gcal(
    db: Database,
    calendar_keyring: Keyring,
    make_gate: Callable[[str], CallGate],
    signing_key: SigningKey,
    clock: Clock,
) -> AsyncIterator[Cal]:
    edge = Edge(DemoCalendar(page_size=4))  # short pages: a full sync takes several
    async with build_http_client(transport=httpx.MockTransport(edge.handler)) as http:
        client = CalendarClient(http, StaticCredentials(demo_credentials()), retry=NO_RETRY_WAIT)
        store = EventStore(db, FieldCipher(calendar_keyring))
        service = CalendarService(client, store, db, audit_log(calendar_keyring, "calendar"))
        server = build_server(CalendarDeps(service=service, gate=make_gate("gcalendar")))
        async with Client(server) as mcp_client:
            yield Cal(mcp_client, Tokens(signing_key, clock, "gcalendar"), edge, service, db)
