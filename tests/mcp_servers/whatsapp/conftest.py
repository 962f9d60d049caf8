"""The WhatsApp MCP server behind a real MCP client, with the bridge faked at the HTTP edge
(``tools.whatsapp.demo``: the bridge's routes and shapes), a real database and real encryption."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from mcp import Client

from broker.tokens import SigningKey
from mcp_servers._common import CallGate, audit_log
from mcp_servers.whatsapp.server import WhatsAppDeps, build_server
from mcp_servers.whatsapp.service import Transcriber, WhatsAppService
from mcp_servers.whatsapp.store import MessageStore
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.mcp_servers.conftest import NO_RETRY_WAIT, Clock, Tokens
from tools._http import build_http_client
from tools.credentials import StaticCredentials
from tools.whatsapp.client import WhatsAppClient
from tools.whatsapp.demo import DemoBridge, demo_credentials, demo_transport


@dataclass
class WhatsApp:
    client: Client
    tokens: Tokens
    bridge: DemoBridge
    db: Database
    service: WhatsAppService


@contextlib.asynccontextmanager
async def open_whatsapp(
    db: Database, gate: CallGate, signing_key: SigningKey, clock: Clock, transcriber: Transcriber | None = None
) -> AsyncIterator[WhatsApp]:
    keyring = Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("messages", "chain") for p in ("enc", "idx")]
    )
    bridge = DemoBridge()
    async with build_http_client(transport=demo_transport(bridge)) as http:
        wa = WhatsAppClient(http, StaticCredentials(demo_credentials()), base_url="http://bridge", retry=NO_RETRY_WAIT)
        store = MessageStore(db, FieldCipher(keyring))
        service = WhatsAppService(wa, store, db, audit_log(keyring, "messages"), transcriber)
        server = build_server(WhatsAppDeps(service=service, gate=gate))
        async with Client(server) as client:
            yield WhatsApp(client, Tokens(signing_key, clock, "whatsapp"), bridge, db, service)


@pytest.fixture
async def whatsapp(
    db: Database, make_gate: Callable[[str], CallGate], signing_key: SigningKey, clock: Clock
) -> AsyncIterator[WhatsApp]:
    async with open_whatsapp(db, make_gate("whatsapp"), signing_key, clock) as w:
        yield w
