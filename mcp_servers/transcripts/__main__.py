"""``python -m mcp_servers.transcripts``: the transcripts MCP server over stdio
(environment: see ``mcp_servers._common``)."""

from __future__ import annotations

import httpx
from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers.transcripts.server import TranscriptsDeps, build_server
from mcp_servers.transcripts.store import TranscriptReader


def demo() -> Demo:
    """Transcripts have no vendor side: nothing to fake."""
    return Demo({}, httpx.MockTransport(lambda _request: httpx.Response(404)))


def build(runtime: Runtime) -> MCPServer:
    return build_server(TranscriptsDeps(reader=TranscriptReader(runtime.db, runtime.cipher), gate=runtime.gate))


if __name__ == "__main__":
    run_server("transcripts", demo, build)
