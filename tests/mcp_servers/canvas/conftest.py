"""The Canvas server over the demo term (Canvas faked only at the HTTP edge), with a fixed today."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import httpx
import pytest
from mcp import Client

from broker.tokens import SigningKey
from mcp_servers._common import CallGate, audit_log
from mcp_servers.canvas.server import CanvasDeps, build_server
from mcp_servers.canvas.service import CanvasService
from mcp_servers.canvas.store import CourseworkStore
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.mcp_servers.conftest import NO_RETRY_WAIT, Clock, Tokens
from tools._http import build_http_client
from tools.canvas.client import CanvasClient
from tools.canvas.demo import DemoCanvas, demo_credentials
from tools.credentials import StaticCredentials

TODAY = date(2026, 12, 2)
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


class Edge:
    """The demo Canvas behind a switch: answer a path with a given response instead."""

    def __init__(self, canvas: DemoCanvas) -> None:
        self.canvas = canvas
        self.answer: dict[str, httpx.Response] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path in self.answer:
            return self.answer[request.url.path]
        return self.canvas.handler(request)


@dataclass
class Canvas:
    client: Client
    tokens: Tokens
    demo: DemoCanvas
    edge: Edge
    service: CanvasService
    credentials: StaticCredentials
    db: Database


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("coursework", "chain") for p in ("enc", "idx")]
    )


@pytest.fixture
async def canvas(
    db: Database,
    cipher: FieldCipher,
    keyring: Keyring,
    make_gate: Callable[[str], CallGate],
    signing_key: SigningKey,
    clock: Clock,
) -> AsyncIterator[Canvas]:
    demo = DemoCanvas(TODAY)
    edge = Edge(demo)
    credentials = StaticCredentials(demo_credentials())
    async with build_http_client(transport=httpx.MockTransport(edge.handler)) as http:
        client = CanvasClient(http, credentials, retry=NO_RETRY_WAIT)
        store = CourseworkStore(db, cipher)
        service = CanvasService(client, store, audit_log(keyring, "coursework"), clock=lambda: NOW)
        server = build_server(CanvasDeps(service=service, gate=make_gate("canvas")))
        async with Client(server) as mcp_client:
            yield Canvas(mcp_client, Tokens(signing_key, clock, "canvas"), demo, edge, service, credentials, db)
