"""The Pearson Mastering MCP server (browser only)."""
