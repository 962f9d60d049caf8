"""The Outlook (Microsoft Graph mail and calendar) MCP server."""
