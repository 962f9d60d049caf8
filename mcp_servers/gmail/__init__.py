"""The Gmail MCP server (``python -m mcp_servers.gmail``)."""
