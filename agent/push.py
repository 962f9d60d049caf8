"""Phone push for notifications, through an ntfy server (self-hosted, or ntfy.sh).

ntfy publishes a message with a plain ``POST`` to the topic's URL: the body is the text, and the
``Title``, ``Priority``, ``Tags`` and ``Click`` headers shape the notification; ``Click`` is the
page the phone opens when the owner taps it. A protected topic takes ``Authorization: Bearer``.

The push server is someone else's machine, so a push carries no personal data: a fixed title per
kind, a fixed sentence, and a link into the console (an approval opens its own card). What the
notification is about is read in the console, behind the login. The topic URL is a secret (on an
open server the topic name is the only thing that keeps others from reading or sending), so it and
the optional token come from secret files. A failed push is logged and never fails the caller: the
notification is already stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import structlog

from agent.jobs.ports import Notification
from agent.notifications import console_path

log = structlog.get_logger("aegis.push")

TEXT = {
    "approval": ("Aegis: approval needed", "An action is waiting for your approval.", "high", "lock"),
    "briefing": ("Aegis: morning briefing", "Your morning briefing is ready.", "default", "sunrise"),
    "digest": ("Aegis: weekly digest", "Your weekly digest is ready.", "default", "newspaper"),
    "job_failed": ("Aegis: a job failed", "A scheduled job failed. Open Aegis for details.", "high", "warning"),
}


class PushConfigError(ValueError):
    """The push settings are unusable; the owner fixes them."""


@dataclass(frozen=True)
class PushConfig:
    topic_url: str
    console_url: str
    token: str | None = None

    def __post_init__(self) -> None:
        for name, url in (("push_url", self.topic_url), ("console_url", self.console_url)):
            parts = urlsplit(url)
            if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
                raise PushConfigError(f"{name} must be an https:// URL without credentials in it")
        if not urlsplit(self.topic_url).path.strip("/"):
            raise PushConfigError("push_url must name a topic, e.g. https://ntfy.example.org/aegis-7f3k")

    def __repr__(self) -> str:
        return "PushConfig(**)"


class PushSender:
    def __init__(self, http: httpx.AsyncClient, config: PushConfig) -> None:
        self._http = http
        self._config = config

    def link(self, note: Notification) -> str:
        return self._config.console_url.rstrip("/") + (console_path(note) or "/jobs#notifications")

    async def send(self, note: Notification) -> bool:
        title, text, priority, tag = TEXT.get(
            note.kind, ("Aegis", "Something needs your attention.", "default", "bell")
        )
        headers = {"Title": title, "Priority": priority, "Tags": tag, "Click": self.link(note)}
        if self._config.token:
            headers["Authorization"] = f"Bearer {self._config.token}"
        try:
            response = await self._http.post(
                self._config.topic_url, content=text.encode(), headers=headers, follow_redirects=False
            )
        except httpx.HTTPError as exc:
            log.warning("push.failed", kind=note.kind, error=type(exc).__name__)
            return False
        if response.status_code >= 300:
            log.warning("push.failed", kind=note.kind, status=response.status_code)
            return False
        log.info("push.sent", kind=note.kind)
        return True
