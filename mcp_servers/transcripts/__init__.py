"""The transcripts MCP server: the agent's search over stored voice transcripts, with their provenance."""
