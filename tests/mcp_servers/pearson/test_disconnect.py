"""Disconnecting Pearson from the console leaves nothing behind: its browser login session
(``pearson-cookies``) is purged by the server itself, the owner's login by the console, the
``pearson_*`` tables are emptied, and a later sync brings nothing back."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.server.mcpserver import MCPServer

from mcp_servers._coursework import LmsStore, Reads
from mcp_servers._lms_sync import vault_cookies
from mcp_servers.pearson.models import TABLES
from mcp_servers.pearson.server import build_server
from mcp_servers.pearson.service import PearsonSource
from storage.audit import AuditLog
from tests.mcp_servers.lms_live import LateVault, connect_sync_disconnect, live_source
from tests.tools.browser.loopback import Site, serve
from tests.web.conftest import FakeClock
from tests.web.harness_data import demo_clock
from tools.browser.session import BrowserRunner
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio
FIXTURES = Path(__file__).parents[2] / "tools" / "pearson" / "fixtures"
PAGES = {"/course-home": "courses.html", "/course/chem102-w26/assignments": "assignments.html"}


@pytest.fixture
def clock() -> FakeClock:
    return demo_clock()


async def test_disconnect_purges_the_login_session_the_login_and_every_row(
    db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig, runner: BrowserRunner
) -> None:
    site = Site(FIXTURES, PAGES, login_page="login.html")
    with serve(site) as url:

        def build(vault: LateVault, store: LmsStore, reads: Reads, audit: AuditLog) -> MCPServer:
            source = PearsonSource(vault, store, runner, vault_cookies(vault, vault, "pearson"), site=url)
            return build_server(reads, source, audit)

        async with live_source(
            "pearson", TABLES, build, db_url=db_url, tmp=tmp_path, clock=clock, config=console_config
        ) as src:
            await connect_sync_disconnect(src, site, table="pearson_work", rows=3)
