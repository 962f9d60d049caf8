"""What ``aegis up`` needs to run WhatsApp: the server's broker identity and what the console adds.

The WhatsApp MCP server's key mints two kinds of tokens: data-key grants for its own ``messages``
domain (``datakeys.read``), and bridge tokens (audience ``whatsapp-bridge``, resource
``mcp:whatsapp``) for reading, sending and the bridge's status. Pairing (the QR code, logout) is the
console's alone: the server cannot mint ``whatsapp.pair``. The bridge process itself is built by
:func:`tools.whatsapp.process.bridge_process_spec`.
"""

from __future__ import annotations

from typing import Final

SERVER_PRINCIPAL: Final = "mcp-whatsapp"
SERVER_SCOPES: Final = ("datakeys.read", "whatsapp.read", "whatsapp.send", "whatsapp.status")
SERVER_RESOURCES: Final = ("domain:messages", "mcp:whatsapp")
DATA_DOMAIN: Final = "messages"
# Added to the console's identity: MCP calls (read, send) and the pairing page (pair, status).
CONSOLE_SCOPES: Final = ("whatsapp.pair", "whatsapp.read", "whatsapp.send", "whatsapp.status")
CONSOLE_RESOURCES: Final = ("mcp:whatsapp",)
