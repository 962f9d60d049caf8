"""The browser layer against loopback HTML fixtures in Debian's Chromium: selectors with fallbacks, the
pages a run must stop at (login, MFA, captcha, a changed layout), encrypted snapshots, cookies kept in
the vault and never on disk."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from tools.browser.pages import NeedsAttention, Target
from tools.browser.session import CHROMIUM, BrowserRunner, Source
from tools.browser.stores import EncryptedSnapshots, VaultCookieJar
from tools.credentials import StaticCredentials, from_one_line

pytestmark = pytest.mark.anyio
FIXTURES = Path(__file__).with_name("fixtures")
TABLE = Target.of("the assignments table", role="table", name="Assignments", css="table.assignments")
ROWS = Target.of("an assignment row", css="table.assignments tr.item")


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, directory=str(FIXTURES), **kwargs)

    def do_GET(self) -> None:
        if self.path == "/session":
            seen = "session=abc123" in (self.headers.get("Cookie") or "")
            title = "welcome back" if seen else "new visitor"
            body = f"<!doctype html><html><body><main><h1>{title}</h1></main></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            if not seen:
                self.send_header("Set-Cookie", "session=abc123; Path=/; HttpOnly")
            self.end_headers()
            self.wfile.write(body.encode())
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def runner() -> BrowserRunner:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/system-packages installs it)")

    async def no_sleep(_seconds: float) -> None:
        return None

    return BrowserRunner(sleep=no_sleep)


class MemoryVault:
    """The vault side of a cookie jar: what the server's secret store would write."""

    def __init__(self) -> None:
        self.creds = StaticCredentials({})
        self.writes: list[tuple[str, str]] = []

    async def write(self, name: str, value: str) -> None:
        self.writes.append((name, value))
        self.creds.set(name, value)

    def jar(self) -> VaultCookieJar:
        return VaultCookieJar(self.creds, self.write, "pearson-cookies", self.erase)

    async def erase(self, name: str) -> bool:
        return self.creds.remove(name)


@pytest.fixture
def snapshots(tmp_path: Path) -> EncryptedSnapshots:
    keyring = Keyring([DataKey(f"coursework.{p}.v1", os.urandom(32), ACTIVE) for p in ("enc", "idx")])
    return EncryptedSnapshots(FieldCipher(keyring), "coursework", tmp_path / "snapshots")


def _source(site: str) -> Source:
    return Source("pearson", site, min_interval=0.0, jitter=0.0, timeout_ms=5000, attempts=2)


async def test_reads_a_known_page_by_role_first(
    site: str, runner: BrowserRunner, snapshots: EncryptedSnapshots
) -> None:
    async with runner.session(_source(site), MemoryVault().jar(), snapshots) as s:
        await s.goto("/assignments.html")
        _, way = await s.find(TABLE)
        rows = await s.page.locator("table.assignments tr.item td.name").all_text_contents()
    assert way.kind == "role"
    assert rows == ["Chapter 7 homework", "Chapter 6 homework"]


async def test_falls_back_to_css_when_the_role_is_gone(
    site: str, runner: BrowserRunner, snapshots: EncryptedSnapshots
) -> None:
    async with runner.session(_source(site), MemoryVault().jar(), snapshots) as s:
        await s.goto("/assignments_restyled.html")
        _, way = await s.find(TABLE)
    assert way.kind == "css"


@pytest.mark.parametrize(
    ("page", "reason"),
    [("login.html", "login"), ("mfa.html", "mfa"), ("captcha.html", "captcha"), ("changed.html", "layout_changed")],
)
async def test_a_page_only_the_owner_can_pass_stops_the_run_with_a_snapshot(
    site: str, runner: BrowserRunner, snapshots: EncryptedSnapshots, tmp_path: Path, page: str, reason: str
) -> None:
    vault = MemoryVault()
    with pytest.raises(NeedsAttention) as caught:
        async with runner.session(_source(site), vault.jar(), snapshots) as s:
            await s.goto(f"/{page}")
            await s.find(TABLE)
    assert caught.value.reason == reason and caught.value.code == reason
    files = list((tmp_path / "snapshots").iterdir())
    assert len(files) == 1 and oct(files[0].stat().st_mode & 0o777) == "0o600"
    raw = files[0].read_bytes()
    assert b"<html" not in raw and b"PNG" not in raw
    opened = snapshots.open(files[0].stem)
    assert opened["reason"] == reason and "<html" in opened["html"] and opened["png"]
    assert vault.writes == []  # a failed run does not replace the saved cookies


async def test_cookies_live_in_the_vault_and_come_back(
    site: str, runner: BrowserRunner, snapshots: EncryptedSnapshots, tmp_path: Path
) -> None:
    vault = MemoryVault()
    async with runner.session(_source(site), vault.jar(), snapshots) as s:
        await s.goto("/session")
        assert await s.page.text_content("h1") == "new visitor"
    [(name, value)] = vault.writes
    assert name == "pearson-cookies" and value.strip() == value and " " not in value  # one line: an api-token
    assert any(c["name"] == "session" for c in json.loads(from_one_line(value)))
    async with runner.session(_source(site), vault.jar(), snapshots) as s:
        await s.goto("/session")
        assert await s.page.text_content("h1") == "welcome back"


async def test_an_unreachable_site_and_an_off_site_link_need_attention(
    runner: BrowserRunner, snapshots: EncryptedSnapshots, site: str
) -> None:
    with pytest.raises(NeedsAttention) as caught:
        async with runner.session(_source("http://127.0.0.1:9"), MemoryVault().jar(), snapshots) as s:
            await s.goto("/assignments.html")
    assert caught.value.reason == "unreachable"
    with pytest.raises(NeedsAttention) as off:
        async with runner.session(_source(site), MemoryVault().jar(), snapshots) as s:
            await s.goto("https://collector.example/steal")
    assert off.value.reason == "layout_changed"


async def test_navigations_are_paced_per_source_with_jitter(site: str, snapshots: EncryptedSnapshots) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    paced = Source("pearson", site, min_interval=30.0, jitter=5.0, timeout_ms=5000)
    async with BrowserRunner(sleep=record).session(paced, MemoryVault().jar(), snapshots) as s:
        await s.goto("/assignments.html")
        await s.goto("/assignments.html")
    assert len(waits) == 1 and 25.0 < waits[0] <= 35.0  # the second navigation waited its turn
