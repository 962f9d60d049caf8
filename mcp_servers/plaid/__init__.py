"""The Plaid MCP server (``python -m mcp_servers.plaid``)."""
