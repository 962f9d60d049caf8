"""``python -m mcp_servers.news``: the news MCP server over stdio (environment: see ``mcp_servers._common``).

In production every request (NewsAPI, feeds, pages, calendars) leaves through a client whose
transport is the egress guard's :class:`~tools.egress.GuardedTransport`, allowing only the
owner's configured sources and public addresses. The demo profile's web is in memory: the guard's URL
and allow-list checks still run (:class:`~mcp_servers.news.crawl.Crawler`), with no DNS and no pause
between requests.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers.news.crawl import ALLOWLIST, Crawler, Pacer, guard_for
from mcp_servers.news.server import NewsDeps, build_server
from mcp_servers.news.service import NewsService
from mcp_servers.news.settings import Settings
from mcp_servers.news.store import NewsStore
from tools._http import build_http_client
from tools.egress import GuardedTransport
from tools.news.demo import demo_credentials, demo_sources, demo_transport
from tools.news.newsapi import NewsApiClient


def demo() -> Demo:
    return Demo(demo_credentials(), demo_transport())


def build(runtime: Runtime) -> MCPServer:
    guard = guard_for()
    if runtime.settings.demo:
        http, pacer = runtime.http, Pacer(interval=0.0)
    else:
        http, pacer = build_http_client(transport=GuardedTransport(guard, ALLOWLIST)), Pacer()
    service = NewsService(
        Crawler(http, guard, pacer),
        NewsApiClient(http, runtime.credentials),
        NewsStore(runtime.db, runtime.cipher, runtime.audit),
    )
    demo_settings = (lambda: Settings.model_validate(demo_sources())) if runtime.settings.demo else None
    return build_server(NewsDeps(service=service, gate=runtime.gate, demo_settings=demo_settings))


if __name__ == "__main__":
    run_server("news", demo, build)
