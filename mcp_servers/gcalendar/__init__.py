"""The Google Calendar MCP server (``python -m mcp_servers.gcalendar``)."""
