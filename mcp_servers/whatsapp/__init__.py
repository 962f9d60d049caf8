"""The WhatsApp MCP server (through the bridge in ``whatsapp-bridge/``)."""
