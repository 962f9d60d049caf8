"""``python -m mcp_servers.linkedin``: the LinkedIn MCP server over stdio (see ``mcp_servers._common``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers._secrets import server_secret_store
from mcp_servers.linkedin.feed_service import FeedReader
from mcp_servers.linkedin.feed_store import FeedStore
from mcp_servers.linkedin.server import LinkedInDeps, build_server
from mcp_servers.linkedin.store import PostStore
from tools.browser.routed import HttpxRoute
from tools.browser.session import BrowserRunner
from tools.linkedin.client import LinkedInClient
from tools.linkedin.demo import demo_credentials, demo_transport
from tools.linkedin.feed import Pace


def demo() -> Demo:
    return Demo(demo_credentials(), demo_transport())


def _now() -> datetime:
    return datetime.now(UTC)


def _reader(runtime: Runtime, store: FeedStore) -> FeedReader:
    if not runtime.settings.demo:
        return FeedReader(runtime.credentials, store, BrowserRunner(), _now)
    # The demo's LinkedIn is in memory: no account to protect, so no slot, cooldown or waits.
    return FeedReader(
        runtime.credentials,
        store,
        BrowserRunner(),
        _now,
        pace=Pace(scrolls=0, pause=(0.0, 0.0)),
        slot=timedelta(0),
        cooldown=timedelta(0),
        start_wait=(0.0, 0.0),
        route=HttpxRoute(runtime.http),
    )


def build(runtime: Runtime) -> MCPServer:
    feed_store = FeedStore(runtime.db, runtime.cipher, runtime.audit)
    deps = LinkedInDeps(
        client=LinkedInClient(runtime.http, runtime.credentials),
        store=PostStore(runtime.db, runtime.cipher, runtime.audit),
        gate=runtime.gate,
        secrets=server_secret_store(runtime),
        feed=_reader(runtime, feed_store),
        feed_store=feed_store,
    )
    return build_server(deps)


if __name__ == "__main__":
    run_server("linkedin", demo, build)
