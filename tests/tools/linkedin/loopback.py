"""A loopback LinkedIn for the feed tests, served from 127.0.0.1 only: ``/feed/`` for a browser
carrying the owner's ``li_at`` cookie, the login wall for one without, and, when ``challenge`` is
set, a redirect from the feed to a security checkpoint, as LinkedIn does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.tools.browser.loopback import Site
from tests.tools.browser.loopback import serve as serve
from tools.linkedin.feed_pages import DEMO_FEED, ShownPost, authwall_html, checkpoint_html, feed_html

SESSION = "AQEDAloopbackOwnerSessionValue0000000000"
CHECKPOINT = "/checkpoint/challenge/AgFloopbackChallenge"


@dataclass
class LinkedInSite(Site):
    fixtures: Path = Path()  # the pages are made by tools.linkedin.feed_pages
    pages: dict[str, str] = field(default_factory=dict)
    posts: Sequence[ShownPost] = DEMO_FEED
    challenge: bool = False
    cookies: list[str] = field(default_factory=list)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: str, location: str | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                if location is not None:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(body.encode())

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path == "/favicon.ico":  # the browser's own request, not the reader's
                    self._send(404, "")
                    return
                site.seen.append(path)
                cookie = self.headers.get("Cookie") or ""
                site.cookies.append(cookie)
                if path == "/feed/":
                    if f"li_at={SESSION}" not in cookie:
                        self._send(303, "", "/authwall?trk=feed")
                    elif site.challenge:
                        self._send(303, "", CHECKPOINT)
                    else:
                        self._send(200, feed_html(site.posts))
                elif path.startswith("/checkpoint/"):
                    self._send(200, checkpoint_html())
                elif path == "/authwall":
                    self._send(200, authwall_html())
                else:
                    self._send(404, "<!doctype html><html><body><h1>Not found</h1></body></html>")

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
