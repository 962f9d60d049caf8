"""``python -m mcp_servers.whatsapp``: the WhatsApp MCP server over stdio.

Environment: see ``mcp_servers._common``, plus ``WHATSAPP_BRIDGE_URL`` (default
``http://127.0.0.1:3001``). The server's broker key mints the bridge tokens (audience
``whatsapp-bridge``, resource ``mcp:whatsapp``); it needs the ``whatsapp.*`` scopes for that.
"""

from __future__ import annotations

import os

from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers.whatsapp.server import WhatsAppDeps, build_server
from mcp_servers.whatsapp.service import WhatsAppService
from mcp_servers.whatsapp.store import MessageStore
from tools.credentials import CredentialProvider
from tools.whatsapp.client import DEFAULT_URL, WhatsAppClient
from tools.whatsapp.demo import demo_credentials, demo_transport
from tools.whatsapp.tokens import BridgeTokens
from voice.transcription import local_transcriber

DEMO_URL = "http://whatsapp-bridge.demo"


def demo() -> Demo:
    return Demo(demo_credentials(), demo_transport())


def build(runtime: Runtime) -> MCPServer:
    tokens: CredentialProvider
    if runtime.settings.demo:
        tokens, url = runtime.credentials, DEMO_URL
    else:
        tokens = BridgeTokens(
            runtime.broker, api_key_file=runtime.settings.key_file, resource=runtime.settings.resource
        )
        url = os.environ.get("WHATSAPP_BRIDGE_URL", DEFAULT_URL)
    client = WhatsAppClient(runtime.http, tokens, base_url=url)
    # Voice notes are transcribed here with the offline engine, loaded on the first note.
    store = MessageStore(runtime.db, runtime.cipher)
    service = WhatsAppService(client, store, runtime.db, runtime.audit, local_transcriber())
    return build_server(WhatsAppDeps(service=service, gate=runtime.gate))


if __name__ == "__main__":
    run_server("whatsapp", demo, build)
