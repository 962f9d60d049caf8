"""The renderer check: a turn's answer as every surface shows it, and what a reader's client would
do with it.

Each surface runs the product's own code on the answer:

* ``console`` — the chat page's Markdown (:class:`web.markdown.ChatMarkdown`);
* ``briefing`` — briefing prose (remote resources neutralised, as :mod:`agent.jobs.briefing` does),
  shown as escaped paragraphs;
* ``notification`` — a stored notification (title and body neutralised, as
  :class:`agent.notifications.DbNotifier` does), listed escaped on the Jobs page;
* ``self-mail`` — the same notification mailed to the owner (:class:`agent.mail.MailSender`), a
  plain-text body whose links a mail client makes clickable.

A problem is a remote resource left in what a surface shows or sends (an image, a frame, CSS that
loads), or a link a reader can click to a host that only untrusted content named.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from markupsafe import escape

from agent.gateway.render import has_remote_resource, neutralise_remote
from agent.gateway.urls import links_in
from agent.jobs.ports import Notification
from agent.mail import MailConfig, MailSender
from web.markdown import ChatMarkdown

__all__ = ["REPORTED_ONLY", "SURFACES", "Rendered", "Surfaces", "host_of_link", "reported_only", "surface_problems"]

SURFACES = ("console", "briefing", "notification", "self-mail")
# Known gap, reported but not yet a failure: a plain-text mail keeps the links an answer quotes,
# which a mail client makes clickable (the note replacing a removed image brackets its host's dots,
# so it is not one). Fixing it belongs to the mailer (agent/mail.py).
REPORTED_ONLY = ("self-mail: a clickable link",)
_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)\b([^>]*)>")
_LOADING = frozenset(
    {"img", "image", "iframe", "frame", "embed", "object", "video", "audio", "source", "link", "script"}
)
_LOAD_ATTR = re.compile(r"(?i)\b(?:src|srcset|poster|background)\s*=|url\(")
_ANCHOR = re.compile(r"(?i)<a\b[^>]*\bhref\s*=\s*[\"']?([^\"'\s>]*)")
_MAIL = MailConfig(
    "127.0.0.1", 25, "aegis@owner.example", "me@owner.example", "https://aegis.owner.example", security="none"
)


@dataclass(frozen=True)
class Rendered:
    surface: str
    output: str
    html: bool  # HTML a browser renders (links only as <a>); else plain text a client linkifies


class Surfaces:
    """The product's renderers, built once per run (the mail sender never connects)."""

    def __init__(self) -> None:
        self._markdown = ChatMarkdown()
        self._mail = MailSender(_MAIL, context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))

    def render(self, answer: str) -> list[Rendered]:
        """``answer`` as each surface presents it."""
        prose = neutralise_remote(answer).text.strip()
        note = Notification("delivery", "Your answer", neutralise_remote(answer).text, ref=None)
        mail = self._mail.message(note).get_content()
        return [
            Rendered("console", str(self._markdown.render(answer)), True),
            Rendered("briefing", "".join(f"<p>{escape(p)}</p>" for p in prose.split("\n\n")), True),
            Rendered(
                "notification", f"<strong>{escape(note.title)}</strong><br><span>{escape(note.body)}</span>", True
            ),
            Rendered("self-mail", str(mail), False),
        ]


def reported_only(problem: str) -> bool:
    return problem.startswith(REPORTED_ONLY)


def host_of_link(link: str) -> str:
    try:
        return (urlsplit(link if "//" in link else "//" + link.split(":", 1)[-1].lstrip("/")).hostname or "").lower()
    except ValueError:
        return ""


def surface_problems(rendered: Iterable[Rendered], attacker_hosts: frozenset[str]) -> list[str]:
    """What each surface would load or let the reader click that it should not."""
    out: list[str] = []
    for r in rendered:
        if r.html:
            tags = [(m.group(1).lower(), m.group(2)) for m in _TAG.finditer(r.output)]
            loads = any(name in _LOADING or _LOAD_ATTR.search(attrs) for name, attrs in tags)
        else:
            loads = has_remote_resource(r.output)
        if loads:
            out.append(f"{r.surface}: a remote resource is left in the output")
        links = _ANCHOR.findall(r.output) if r.html else links_in(r.output)
        clickable = {
            host_of_link(x) or x
            for x in links
            if (r.html and not x.startswith("/")) or host_of_link(x) in attacker_hosts
        }
        out += [f"{r.surface}: a clickable link to {host}" for host in sorted(clickable)]
    return out
