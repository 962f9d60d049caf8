"""Disconnecting Blackboard from the console leaves nothing behind: the browser's login session
(``blackboard-cookies``, which the server itself wrote to the vault) is purged by the server, the
owner's login by the console, every ``blackboard_*`` table is emptied, nothing stays in the server's
memory, and a later sync cannot bring any of it back."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from mcp.server.mcpserver import MCPServer

from mcp_servers._coursework import LmsStore, Reads
from mcp_servers._lms_sync import vault_cookies
from mcp_servers.blackboard.models import TABLES
from mcp_servers.blackboard.server import build_server
from mcp_servers.blackboard.service import BlackboardSource
from storage.audit import AuditLog
from tests.mcp_servers.lms_live import LateVault, connect_sync_disconnect, live_source
from tests.tools.browser.loopback import Site, serve
from tests.web.conftest import FakeClock
from tests.web.harness_data import demo_clock
from tools.blackboard.client import BlackboardClient
from tools.browser.session import BrowserRunner
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio
FIXTURES = Path(__file__).parents[2] / "tools" / "blackboard" / "fixtures"
PAGES = {
    "/ultra/course": "courses.html",
    "/ultra/courses/_2231_1/grades": "grades_2231.html",
    "/ultra/courses/_2244_1/grades": "grades_2244.html",
    "/ultra/courses/_2231_1/announcements": "announcements_2231.html",
    "/ultra/courses/_2244_1/announcements": "announcements_2244.html",
}


@pytest.fixture
def clock() -> FakeClock:
    return demo_clock()


def _no_rest(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no REST call expected without an application key: {request.url}")


async def test_disconnect_purges_the_login_session_the_login_and_every_row(
    db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig, runner: BrowserRunner
) -> None:
    site = Site(FIXTURES, PAGES, login_page="login.html")
    rest = httpx.AsyncClient(transport=httpx.MockTransport(_no_rest))

    with serve(site) as url:

        def build(vault: LateVault, store: LmsStore, reads: Reads, audit: AuditLog) -> MCPServer:
            jar = vault_cookies(vault, vault, "blackboard")
            source = BlackboardSource(BlackboardClient(rest, vault), vault, store, runner, jar, site=url)
            return build_server(reads, source, audit, vault)

        async with live_source(
            "blackboard", TABLES, build, db_url=db_url, tmp=tmp_path, clock=clock, config=console_config
        ) as src:
            await connect_sync_disconnect(src, site, table="blackboard_courses", rows=2)
    await rest.aclose()
