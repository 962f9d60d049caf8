"""The approved grocery list is mailed to the owner through the owner's SMTP server (a real SMTP
conversation with a sink on loopback): subject, list, totals and the printable page's link; nothing
is mailed before approval, a refused mail never undoes the delivery, and the settings refuse a
password without TLS or a plain connection off this machine."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest

from agent.gateway.gateway import GatewayStatus
from agent.mail import MailConfig, MailConfigError, MailSender
from storage.db import Database
from tests.mcp_servers.groceries.conftest import START, make_rig

pytestmark = pytest.mark.anyio
OWNER = "owner@example.org"
CONSOLE = "https://aegis.example.org"


@dataclass
class Sink:
    """A minimal SMTP server: it keeps each message with its envelope; ``refuse`` answers DATA 554."""

    port: int = 0
    refuse: bool = False
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sender, data = "", False
        rcpts: list[str] = []
        lines: list[bytes] = []
        writer.write(b"220 sink ESMTP\r\n")
        while line := await reader.readline():
            if data:
                if line == b".\r\n":
                    data = False
                    msg = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                    assert isinstance(msg, EmailMessage)
                    self.received.append((sender, rcpts, msg))
                    writer.write(b"250 queued\r\n")
                else:
                    lines.append(line[1:] if line.startswith(b"..") else line)
            else:
                verb = line[:4].upper()
                if verb == b"EHLO":
                    writer.write(b"250-sink\r\n250 8BITMIME\r\n")
                elif verb == b"MAIL":
                    sender = line.decode().split(":", 1)[1].strip().strip("<>")
                    writer.write(b"250 ok\r\n")
                elif verb == b"RCPT":
                    rcpts.append(line.decode().split(":", 1)[1].strip().strip("<>"))
                    writer.write(b"250 ok\r\n")
                elif verb == b"DATA":
                    if self.refuse:
                        writer.write(b"554 refused\r\n")
                    else:
                        data, lines = True, []
                        writer.write(b"354 go on\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    break
                else:
                    writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    box = Sink()
    server = await asyncio.start_server(box.handle, "127.0.0.1", 0)
    box.port = server.sockets[0].getsockname()[1]
    async with server:
        yield box


def _sender(sink: Sink) -> MailSender:
    doc = {"host": "127.0.0.1", "port": sink.port, "from": "aegis@example.org", "to": OWNER, "security": "none"}
    return MailSender(MailConfig.from_json(json.dumps(doc), CONSOLE))


async def test_the_approved_list_is_mailed_to_the_owner_once(db: Database, sink: Sink) -> None:
    async with make_rig(db, mail=_sender(sink)) as rig:
        aid = (await rig.calls.sync("groceries", "job-token", "grocery_order"))["approval"]
        assert sink.received == []  # waiting for approval: nothing mailed (the approval alert is not mailed)
        result = await rig.parts.services.approvals.approve(aid, step_up_done=True)
        assert result.status is GatewayStatus.OK
        ((sender, rcpts, msg),) = sink.received
        assert (sender, rcpts, msg["To"]) == ("aegis@example.org", [OWNER], OWNER)
        assert msg["Subject"] == result.content["mail_subject"] == "Grocery list for Thu 3 Dec to Sun 6 Dec"
        body = msg.get_content().replace("\r\n", "\n")
        assert result.content["mail_body"].strip() in body and "Buy:" in body
        assert f"{CONSOLE}/integrations/groceries/pages/plan?id=plan-{START}" in body


async def test_a_refused_mail_leaves_the_delivery_and_its_notification(db: Database, sink: Sink) -> None:
    sink.refuse = True
    async with make_rig(db, mail=_sender(sink)) as rig:
        aid = (await rig.calls.sync("groceries", "job-token", "grocery_order"))["approval"]
        result = await rig.parts.services.approvals.approve(aid, step_up_done=True)
        assert result.status is GatewayStatus.OK and sink.received == []
        plan = await rig.store.get(f"plan-{START}")
        assert plan is not None and plan.status == "approved"
        assert [n.kind for _, n in await rig.parts.notifier.recent(limit=10)].count("delivery") == 1


def test_the_settings_keep_the_password_on_tls_and_plain_smtp_on_this_machine() -> None:
    base = '"from": "aegis@example.org", "to": "owner@example.org"'
    with pytest.raises(MailConfigError, match="only for a relay on this machine"):
        MailConfig.from_json(f'{{"host": "smtp.example.org", "security": "none", {base}}}', CONSOLE)
    with pytest.raises(MailConfigError, match="never sent without TLS"):
        MailConfig.from_json(f'{{"host": "localhost", "security": "none", "password": "pw-123456", {base}}}', CONSOLE)
    with pytest.raises(MailConfigError, match="one 'from' and one 'to'"):
        MailConfig.from_json('{"host": "smtp.example.org", "from": "a@b", "to": "x@y, evil@z"}', CONSOLE)
    ok = MailConfig.from_json(f'{{"host": "smtp.example.org", "password": "pw-123456", {base}}}', CONSOLE)
    assert (ok.port, ok.security) == (587, "starttls") and "pw-123456" not in repr(ok)
