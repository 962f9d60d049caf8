"""The ActivityWatch server over the demo device (aw-server faked only at the HTTP edge), fixed today."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from mcp import Client

from broker.tokens import SigningKey
from mcp_servers._common import CallGate, audit_log
from mcp_servers.activitywatch.server import UsageDeps, build_server
from mcp_servers.activitywatch.service import UsageService
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.mcp_servers.conftest import NO_RETRY_WAIT, Clock, Tokens
from tools._http import build_http_client
from tools.activitywatch.client import ActivityWatchClient
from tools.activitywatch.demo import DemoActivityWatch, demo_transport
from tools.credentials import StaticCredentials

TODAY = date(2026, 12, 2)  # a Wednesday
NOW = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)


@dataclass
class Usage:
    client: Client
    tokens: Tokens
    demo: DemoActivityWatch
    service: UsageService
    db: Database


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("coursework", "chain") for p in ("enc", "idx")]
    )


@pytest.fixture
async def usage(
    db: Database,
    cipher: FieldCipher,
    keyring: Keyring,
    make_gate: Callable[[str], CallGate],
    signing_key: SigningKey,
    clock: Clock,
) -> AsyncIterator[Usage]:
    demo = DemoActivityWatch(TODAY)
    async with build_http_client(transport=demo_transport(demo)) as http:
        client = ActivityWatchClient(http, StaticCredentials({}), retry=NO_RETRY_WAIT)
        service = UsageService(client, db, cipher, audit_log(keyring, "coursework"), clock=lambda: NOW)
        server = build_server(UsageDeps(service=service, gate=make_gate("activitywatch")))
        async with Client(server) as mcp_client:
            yield Usage(mcp_client, Tokens(signing_key, clock, "activitywatch"), demo, service, db)
