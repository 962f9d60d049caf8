"""The Blackboard Learn MCP server."""
