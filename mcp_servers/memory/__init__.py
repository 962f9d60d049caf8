"""The memory MCP server: facts the assistant keeps, each with its provenance."""
