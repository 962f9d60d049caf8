"""The WhatsApp server's identity against a real broker: its data domain and its bridge tokens."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from aegis.identities import server_identity
from broker.client import BrokerClient
from broker.grants import fetch_keyring
from integrations import load_manifest
from tests.mcp_servers.conftest import key_file
from tools.credentials import read_api_key_file
from tools.errors import InvalidRequest
from tools.whatsapp.tokens import BridgeTokens

pytestmark = pytest.mark.anyio
MANIFEST = load_manifest("whatsapp")
IDENTITY = server_identity(MANIFEST)
DATA_DOMAIN, SERVER_PRINCIPAL, SERVER_SCOPES = MANIFEST.identity.data_domain, IDENTITY.name, IDENTITY.scopes


async def test_the_server_identity_gets_its_domain_and_bridge_tokens(
    broker_url: tuple[str, str], tmp_path: Path
) -> None:
    url, admin = broker_url
    path = await key_file(url, admin, tmp_path, "whatsapp", DATA_DOMAIN, SERVER_SCOPES, SERVER_PRINCIPAL)
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        broker = BrokerClient(http)
        keyring = await fetch_keyring(broker, read_api_key_file(path), {DATA_DOMAIN})
        assert keyring.domains == frozenset({DATA_DOMAIN})
        assert keyring.active_kid(DATA_DOMAIN).startswith("messages.enc.")
        tokens = BridgeTokens(broker, api_key_file=path)
        # whatsapp.pair too: the console-only pairing tools (class ADMIN, never offered to the model)
        # reach the bridge through this server.
        for scope in ("whatsapp.read", "whatsapp.send", "whatsapp.status", "whatsapp.pair"):
            assert await tokens.get(scope)
        with pytest.raises(InvalidRequest):
            await tokens.get("secrets.read")
    assert set(IDENTITY.resources) == {"domain:chain", f"domain:{DATA_DOMAIN}", "mcp:whatsapp"}
