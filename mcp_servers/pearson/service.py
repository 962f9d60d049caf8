"""Reading Pearson Mastering through the browser (it has no student API): the course list, then each
course's assignments. The owner's login (``pearson-login``: ``{"username", "password"}``) is filled
once at a login form; a site that answers 401/403 to the demo's routed requests counts as a refused
login. Everything else the browser layer does not recognise stops the run (needs attention).
"""

from __future__ import annotations

from dataclasses import dataclass

from mcp_servers._coursework import Course, LmsStore, Snapshot, Work, scraped_work
from mcp_servers._lms_sync import SnapshotKeeper, forget_session, stored_login
from tools.browser.pages import NeedsAttention
from tools.browser.routed import HttpxRoute
from tools.browser.session import BrowserRunner
from tools.browser.session import Source as BrowserSource
from tools.browser.stores import VaultCookieJar
from tools.browser.tables import parse_score
from tools.credentials import CredentialProvider
from tools.errors import AuthExpired
from tools.pearson import browser

LOGIN_CREDENTIAL = "pearson-login"


@dataclass
class PearsonSource:
    credentials: CredentialProvider
    store: LmsStore
    runner: BrowserRunner
    cookies: VaultCookieJar  # the login session, kept in the broker's vault (``_lms_sync.vault_cookies``)
    site: str = browser.SITE
    route: HttpxRoute | None = None  # the demo profile: pages from the in-memory site

    async def mode(self) -> str:
        return "browser"

    async def forget(self) -> list[str]:
        return await forget_session(self.cookies, self.credentials)

    async def fetch(self, keeper: SnapshotKeeper) -> Snapshot:
        if self.route is not None:
            self.route.refused = False
        login = await stored_login(self.credentials, LOGIN_CREDENTIAL, "pearson")
        courses: list[Course] = []
        work: list[Work] = []
        try:
            async with self.runner.session(
                BrowserSource(browser.NAME, self.site),
                self.cookies,
                keeper,
                login=login,
                route=self.route,
            ) as s:
                for row in await browser.read_courses(s):
                    cid = str(row["id"])
                    score, _ = parse_score(row.get("score"))
                    name = row.get("name") or cid
                    courses.append(Course(cid, _code(name), name, None, score, None))
                    work += [scraped_work(it, cid) for it in await browser.read_assignments(s, cid)]
        except NeedsAttention:
            if self.route is not None and self.route.refused:
                raise AuthExpired("Pearson refused the saved login", integration="pearson", status=401) from None
            raise
        return Snapshot(courses, work)


def _code(name: str) -> str:
    """``CHEM 102 General Chemistry II`` -> ``CHEM 102``; else the name."""
    parts = name.split()
    if len(parts) >= 2 and parts[0].isalpha() and parts[0].isupper() and parts[1][:3].isdigit():
        return f"{parts[0]} {parts[1]}"
    return name
