"""The Outlook server over the demo Graph (the vendor faked only at the HTTP edge)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
from mcp import Client

from broker.tokens import SigningKey
from mcp_servers._common import CallGate, audit_log
from mcp_servers.outlook.server import OutlookDeps, build_server
from mcp_servers.outlook.service import OutlookService
from mcp_servers.outlook.store import OutlookStore
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.mcp_servers.conftest import NO_RETRY_WAIT, Clock, Tokens
from tools._http import build_http_client
from tools.credentials import StaticCredentials
from tools.outlook.auth import MsalTokens
from tools.outlook.client import OutlookClient
from tools.outlook.demo import DemoGraph, demo_credentials


@dataclass
class Box:
    client: Client
    tokens: Tokens
    graph: DemoGraph
    service: OutlookService
    db: Database


@pytest.fixture
def mail_keyring() -> Keyring:
    return Keyring([DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("mail", "chain") for p in ("enc", "idx")])


@pytest.fixture
async def outlook(
    db: Database,
    mail_keyring: Keyring,
    make_gate: Callable[[str], CallGate],
    signing_key: SigningKey,
    clock: Clock,
) -> AsyncIterator[Box]:
    graph = DemoGraph(page_size=2)  # short pages: a full round takes several
    async with build_http_client(transport=httpx.MockTransport(graph.handler)) as http:
        creds = StaticCredentials(demo_credentials())
        client = OutlookClient(http, creds, MsalTokens(creds, writer=None), retry=NO_RETRY_WAIT)
        store = OutlookStore(db, FieldCipher(mail_keyring))
        service = OutlookService(client, store, db, audit_log(mail_keyring, "mail"))
        server = build_server(OutlookDeps(service=service, gate=make_gate("outlook")))
        async with Client(server) as mcp_client:
            yield Box(mcp_client, Tokens(signing_key, clock, "outlook"), graph, service, db)
