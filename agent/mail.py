"""Mail to the owner, through the owner's own SMTP server, for what the owner asked to receive by mail.

Only a **delivery** (something the owner approved to be delivered to them, e.g. a grocery list) is
mailed, with its title as the subject, its text and a link to its console page. Briefings,
approvals and failures are not mailed: they stay in the console and, with push, a fixed sentence on
the phone. The settings are one secret file, ``mail_smtp`` (JSON: ``host``, ``port``, ``username``,
``password``, ``from``, ``to``, ``security`` = ``starttls`` (default) or ``tls``); ``none`` is
accepted only for a server on this machine (a local relay). Certificates are always verified. A
failed mail is logged (the kind and the error's type, never the content or the password) and never
fails the caller: the notification is already stored.

The standard library's ``smtplib`` is synchronous; it runs in a worker thread.
"""

from __future__ import annotations

import email.message
import email.policy
import ipaddress
import json
import smtplib
import ssl
from dataclasses import dataclass
from typing import Any, Final, Literal

import anyio.to_thread
import structlog

from agent.jobs.ports import Notification
from agent.notifications import console_path

log = structlog.get_logger("aegis.mail")

MAILED: Final = frozenset({"delivery"})
TIMEOUT: Final = 20.0


class MailConfigError(ValueError):
    """The mail settings are unusable; the owner fixes them."""


def _local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class MailConfig:
    host: str
    port: int
    sender: str
    to: str
    console_url: str
    username: str | None = None
    password: str | None = None
    security: Literal["starttls", "tls", "none"] = "starttls"

    def __post_init__(self) -> None:
        if not self.host or not 0 < self.port < 65536:
            raise MailConfigError("mail_smtp needs a host and a port")
        if "@" not in self.sender or "@" not in self.to or any(c in self.sender + self.to for c in "\r\n,"):
            raise MailConfigError("mail_smtp needs one 'from' and one 'to' address")
        if self.security not in ("starttls", "tls", "none"):
            raise MailConfigError("mail_smtp security must be starttls, tls or none")
        if self.security == "none" and not _local(self.host):
            raise MailConfigError("mail_smtp security none is only for a relay on this machine")
        if self.security == "none" and self.password:
            raise MailConfigError("mail_smtp: a password is never sent without TLS")

    @classmethod
    def from_json(cls, text: str, console_url: str) -> MailConfig:
        try:
            doc: Any = json.loads(text)
        except ValueError:
            raise MailConfigError("mail_smtp is not JSON") from None
        if not isinstance(doc, dict):
            raise MailConfigError("mail_smtp must be a JSON object")
        try:
            host, port, sender, to = str(doc["host"]), int(doc.get("port", 587)), str(doc["from"]), str(doc["to"])
        except (KeyError, TypeError, ValueError) as exc:
            raise MailConfigError(f"mail_smtp is incomplete: {type(exc).__name__}") from None
        return cls(
            host=host,
            port=port,
            sender=sender,
            to=to,
            console_url=console_url,
            username=str(doc["username"]) if doc.get("username") else None,
            password=str(doc["password"]) if doc.get("password") else None,
            security=doc.get("security", "starttls"),
        )

    def __repr__(self) -> str:
        return "MailConfig(**)"


class MailSender:
    def __init__(self, config: MailConfig, *, context: ssl.SSLContext | None = None) -> None:
        self._config = config
        self._context = context or ssl.create_default_context()

    def message(self, note: Notification) -> email.message.EmailMessage:
        c = self._config
        msg = email.message.EmailMessage(policy=email.policy.SMTP)
        msg["From"], msg["To"] = c.sender, c.to
        msg["Subject"] = " ".join(note.title.split())[:200] or "Aegis"
        path = console_path(note)
        link = f"\n\nIn Aegis: {c.console_url.rstrip('/')}{path}\n" if path and c.console_url else "\n"
        msg.set_content(note.body.rstrip() + link)
        return msg

    def _send(self, msg: email.message.EmailMessage) -> None:
        c = self._config
        smtp: smtplib.SMTP
        if c.security == "tls":
            smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=TIMEOUT, context=self._context)
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=TIMEOUT)
        with smtp:
            if c.security == "starttls":
                smtp.starttls(context=self._context)
            if c.username and c.password:
                smtp.login(c.username, c.password)
            smtp.send_message(msg)

    async def send(self, note: Notification) -> bool:
        """Mail ``note`` to the owner if it is of a kind the owner receives by mail."""
        if note.kind not in MAILED:
            return False
        msg = self.message(note)
        try:
            await anyio.to_thread.run_sync(self._send, msg)
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("mail.failed", kind=note.kind, error=type(exc).__name__)
            return False
        log.info("mail.sent", kind=note.kind)
        return True
