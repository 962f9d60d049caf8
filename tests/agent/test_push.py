"""Phone push through ntfy: a fixed, data-free message with a link into the console."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from aegis.agent_root import build_push
from aegis.runtime import build_context
from aegis.settings import Settings
from agent.jobs.ports import Notification
from agent.notifications import DbNotifier
from agent.push import PushConfig, PushConfigError, PushSender
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database

pytestmark = pytest.mark.anyio
TOPIC = "https://ntfy.example.org/aegis-7f3kq9"
CONSOLE = "https://aegis.tail1234.ts.net"
HEADLINE = "Send an email to dana@example.com: Re: the lease"


class Ntfy:
    """An ntfy server's publish endpoint: POST /<topic>, answering with the message envelope."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status != 200:
            return httpx.Response(self.status, json={"code": 42901, "http": self.status, "error": "limit reached"})
        body = {"id": "sPs71M8A2T", "time": 1732350000, "event": "message", "topic": request.url.path.strip("/")}
        return httpx.Response(200, json=body | {"message": request.content.decode()})


def _sender(ntfy: Ntfy, token: str | None = None) -> PushSender:
    http = httpx.AsyncClient(transport=httpx.MockTransport(ntfy.handler))
    return PushSender(http, PushConfig(TOPIC, CONSOLE, token))


async def test_an_approval_push_links_to_its_card_and_carries_no_personal_data() -> None:
    ntfy = Ntfy()
    assert await _sender(ntfy, "tk_secret123").send(Notification("approval", HEADLINE, "Open it", "Ab3dEf9hIj_k"))
    (request,) = ntfy.requests
    assert request.method == "POST" and str(request.url) == TOPIC
    assert request.headers["Click"] == f"{CONSOLE}/approvals/Ab3dEf9hIj_k"
    assert request.headers["Title"] == "Aegis: approval needed" and request.headers["Priority"] == "high"
    assert request.headers["Authorization"] == "Bearer tk_secret123"
    sent = request.content.decode() + " ".join(request.headers.values())
    assert "dana" not in sent and "lease" not in sent and "Open it" not in sent


async def test_links_never_carry_a_hostile_ref_and_unknown_kinds_go_to_the_list() -> None:
    ntfy = Ntfy()
    sender = _sender(ntfy)
    assert sender.link(Notification("approval", "x", "y", "../../audit?x=1")) == f"{CONSOLE}/jobs#notifications"
    bid = "0b5e6c1e-3f7a-4d2b-9c8e-1a2b3c4d5e6f"  # briefing ids are UUIDs
    assert sender.link(Notification("briefing", "x", "y", bid)) == f"{CONSOLE}/briefings/{bid}"
    assert sender.link(Notification("briefing", "x", "y", "b-42")) == f"{CONSOLE}/jobs#notifications"
    await sender.send(Notification("other", "x", "y"))
    assert ntfy.requests[0].headers["Title"] == "Aegis" and "Authorization" not in ntfy.requests[0].headers


async def test_a_failed_push_is_logged_and_the_notification_is_still_stored(db: Database) -> None:
    ntfy = Ntfy(status=429)
    cipher = FieldCipher(Keyring([DataKey(f"conversation.{p}.v1", os.urandom(32), ACTIVE) for p in ("enc", "idx")]))
    notifier = DbNotifier(db, cipher, _sender(ntfy))
    await notifier.notify(Notification("job_failed", "sync_emails failed", "timeout"))
    assert len(ntfy.requests) == 1
    assert [n.title for _, n in await notifier.recent()] == ["sync_emails failed"]
    assert not await _sender(Ntfy(status=500)).send(Notification("digest", "x", "y"))


@pytest.mark.parametrize(
    ("topic", "console"),
    [
        ("http://ntfy.example.org/aegis", CONSOLE),  # not HTTPS
        ("https://ntfy.example.org/", CONSOLE),  # no topic
        ("https://user:pw@ntfy.example.org/aegis", CONSOLE),  # credentials in the URL
        (TOPIC, "http://aegis.local"),
    ],
)
def test_unusable_settings_are_refused(topic: str, console: str) -> None:
    with pytest.raises(PushConfigError):
        PushConfig(topic, console)
    assert "7f3k" not in repr(PushConfig(TOPIC, CONSOLE))


async def test_push_is_wired_from_a_secret_file_and_needs_the_console_address(tmp_path: Path) -> None:
    secrets = tmp_path / "data" / "secrets"
    secrets.mkdir(parents=True)
    assert build_push(build_context(Settings(data_dir=tmp_path / "data"))) == (None, None)  # off by default
    (secrets / "push_url").write_text(TOPIC + "\n")
    (secrets / "push_url").chmod(0o600)
    with pytest.raises(PushConfigError, match="AEGIS_CONSOLE_URL"):
        build_push(build_context(Settings(data_dir=tmp_path / "data")))
    ctx = build_context(Settings(data_dir=tmp_path / "data", console_url=CONSOLE))
    sender, http = build_push(ctx)
    assert sender is not None and http is not None
    assert sender.link(Notification("approval", "x", "y", "abc12345")) == f"{CONSOLE}/approvals/abc12345"
    assert TOPIC not in ctx.redactor.scrub(f"posting to {TOPIC}")  # the topic URL is a secret: never logged
    await http.aclose()
