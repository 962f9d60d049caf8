"""The X MCP server: timelines, mentions, posting with approval, post metrics."""
