"""A loopback website for browser-source tests: fixture pages by path, and a login that sets a session
cookie (the owner's saved cookies skip it). Nothing leaves 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tools.browser.session import CHROMIUM, BrowserRunner

SESSION = "session=loopback-ok"


@dataclass
class Site:
    fixtures: Path
    pages: dict[str, str]  # path -> fixture file name
    login_page: str | None = None  # served (and POST /login checked) while there is no session cookie
    username: str = "owner"
    password: str = "correct horse"
    after_login: str | None = None  # a fixture served after a correct login instead of the page (e.g. MFA)
    seen: list[str] = field(default_factory=list)
    logins: int = 0

    def handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _file(self, name: str) -> bytes:
                return (site.fixtures / name).read_bytes()

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                site.seen.append(path)
                logged_in = SESSION in (self.headers.get("Cookie") or "")
                if site.login_page is not None and not logged_in:
                    self._send(200, self._file(site.login_page))
                    return
                if logged_in and site.after_login is not None:
                    self._send(200, self._file(site.after_login))
                    return
                name = site.pages.get(path)
                if name is None:
                    self._send(404, b"<!doctype html><html><body><h1>Not found</h1></body></html>")
                    return
                self._send(200, self._file(name))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                site.logins += 1
                ok = form.get("username") == [site.username] and form.get("password") == [site.password]
                target = urlsplit(self.headers.get("Referer") or "/").path or "/"  # back to the page asked for
                headers = {"Location": target}
                if ok:
                    headers["Set-Cookie"] = f"{SESSION}; Path=/; HttpOnly"
                self._send(303, b"", headers)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


@contextmanager
def serve(site: Site) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), site.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Jar:
    def __init__(self) -> None:
        self.saved: list[str] = []

    async def load(self) -> str | None:
        return self.saved[-1] if self.saved else None

    async def save(self, cookies: str) -> None:
        self.saved.append(cookies)


class Shots:
    def __init__(self) -> None:
        self.kept: list[tuple[str, str, bytes, str]] = []

    async def keep(self, source: str, reason: str, screenshot: bytes, html: str) -> str:
        self.kept.append((source, reason, screenshot, html))
        return f"{source}-{len(self.kept)}"


@pytest.fixture(name="runner")
def chromium_runner() -> BrowserRunner:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")

    async def no_sleep(_seconds: float) -> None:
        return None

    return BrowserRunner(sleep=no_sleep)
