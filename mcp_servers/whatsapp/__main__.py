"""``python -m mcp_servers.whatsapp``: the WhatsApp MCP server over stdio.

Environment: see ``mcp_servers._common``, plus ``WHATSAPP_BRIDGE_URL`` (default
``http://127.0.0.1:3001``; deployed, ``https://`` through Traefik, verified against the internal CA
in ``AEGIS_BROKER_CA_FILE``). The server's broker key mints the bridge tokens (audience
``whatsapp-bridge``, resource ``mcp:whatsapp``); it needs the ``whatsapp.*`` scopes for that.
"""

from __future__ import annotations

import os

import httpx
from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers.whatsapp.server import WhatsAppDeps, build_server
from mcp_servers.whatsapp.service import WhatsAppService
from mcp_servers.whatsapp.store import MessageStore
from tools.credentials import CredentialProvider
from tools.whatsapp.client import DEFAULT_URL, WhatsAppClient, bridge_http
from tools.whatsapp.demo import demo_credentials, demo_transport
from tools.whatsapp.tokens import BridgeTokens
from voice.transcription import local_transcriber

DEMO_URL = "http://whatsapp-bridge.demo"


def _sidecar_url() -> str | None:
    """Where ``aegis up`` started the bridge (its sidecar); unset: no bridge process beside us."""
    return os.environ.get("WHATSAPP_BRIDGE_URL")


def demo() -> Demo:
    # The demo profile under ``aegis up`` talks to the real bridge running its fake WhatsApp.
    transport = httpx.AsyncHTTPTransport() if _sidecar_url() else demo_transport()
    return Demo(demo_credentials(), transport)


def build(runtime: Runtime) -> MCPServer:
    tokens: CredentialProvider
    if runtime.settings.demo and not _sidecar_url():
        tokens, url = runtime.credentials, DEMO_URL
    else:
        tokens = BridgeTokens(
            runtime.broker, api_key_file=runtime.settings.key_file, resource=runtime.settings.resource
        )
        url = _sidecar_url() or DEFAULT_URL
    # Over HTTPS the bridge's certificate must chain to the internal CA; that client lives as long as
    # this server's process.
    http = bridge_http(url, runtime.settings.broker_ca_file, runtime.http)
    client = WhatsAppClient(http, tokens, base_url=url)
    # Voice notes are transcribed here with the offline engine, loaded on the first note.
    store = MessageStore(runtime.db, runtime.cipher)
    service = WhatsAppService(client, store, runtime.db, runtime.audit, local_transcriber())
    return build_server(WhatsAppDeps(service=service, gate=runtime.gate))


if __name__ == "__main__":
    run_server("whatsapp", demo, build)
