"""``python -m mcp_servers.gcalendar``: the Google Calendar MCP server over stdio (see ``mcp_servers._common``)."""

from __future__ import annotations

from datetime import UTC, datetime

from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers.gcalendar.server import CalendarDeps, build_server
from mcp_servers.gcalendar.service import CalendarService
from mcp_servers.gcalendar.store import EventStore
from tools.gcalendar.client import CalendarClient
from tools.gcalendar.demo import DemoCalendar, demo_credentials, demo_transport


def demo() -> Demo:
    """The demo calendar, its events placed around today."""
    return Demo(demo_credentials(), demo_transport(DemoCalendar(today=datetime.now(UTC).date())))


def build(runtime: Runtime) -> MCPServer:
    client = CalendarClient(runtime.http, runtime.credentials)
    service = CalendarService(client, EventStore(runtime.db, runtime.cipher), runtime.db, runtime.audit)
    return build_server(CalendarDeps(service=service, gate=runtime.gate))


if __name__ == "__main__":
    run_server("gcalendar", demo, build)
