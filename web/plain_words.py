"""Sentences for the owner instead of internals: what an approval card asks and why, what a tool
call in a chat did. Rule ids, pins and raw JSON stay on the page, under a "details" fold.

Only fixed phrases and values already on the card (recipients, the sources the gateway recorded)
go into a sentence; the model's prose never does. The templates escape the result.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from agent.gateway.card import ApprovalCard
from integrations import Catalog

# What a tool does, as the end of "Aegis wants to ...". An installed integration's own tools say it
# in their manifest (``asks``); these cover the tools no installed integration offers.
ACTIONS = {
    "web.fetch": "open this web page",
    "x.post": "post this on X",
    "broker.place_order": "place this order with your broker",
    "grocery.checkout": "pay for this grocery order",
    "calendar.create_event": "create this calendar event",
    "calendar.add_participant": "invite someone to this event",
    "calendar.delete_event": "delete this calendar event",
}
# What a finished call did, for chat traces ("Read your balances.").
DONE = {
    "calendar.list_events": "Read your calendar",
    "web.fetch": "Opened a web page",
}
RECIPIENT_ARGS = ("to", "recipient", "participants", "participant")
CHANNELS = {"email": "an email", "mail": "an email", "web": "a web page"}


@cache
def _installed() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The installed integrations' own words (manifests: ``asks``, ``did``, ``channels``)."""
    catalog = Catalog.load()
    asks = {t: s.asks for m in catalog for t, s in m.tools.items() if s.asks}
    did = {t: s.did for m in catalog for t, s in m.tools.items() if s.did}
    channels = {c: w for m in catalog for c, w in m.channels.items()}
    return asks, did, channels


_SOURCE = re.compile(r"^(?P<channel>[\w.-]+) \S+(?: from (?P<who>[^,]+))?, \d{4}-\d\d-\d\d")


def tool_words(tool: str) -> str:
    return _installed()[0].get(tool) or ACTIONS.get(tool, f"use {tool.replace('_', ' ')}")


def done_words(tool: str) -> str | None:
    return _installed()[1].get(tool) or DONE.get(tool)


def source_phrase(sources: Sequence[str]) -> str | None:
    """'an email from dana@example.com' for the first untrusted source the gateway recorded."""
    for source in sources:
        found = _SOURCE.match(source)
        if found:
            channel = found["channel"]
            what = _installed()[2].get(channel) or CHANNELS.get(channel, f"a {channel} item")
            return f"{what} from {found['who'].strip()}" if found["who"] else what
    return None


def _recipients(card: ApprovalCard) -> str:
    for arg in card.args:
        if arg.name in RECIPIENT_ARGS:
            text = " ".join(line.strip(' []"') for line in arg.lines if line.strip(' []"'))
            return f" to {text.rstrip(',')}" if text else ""
    return ""


def _because(card: ApprovalCard, owner_asked: bool) -> list[str]:
    out: list[str] = []
    for rule, reason in card.rules:
        if rule.startswith("R9_") and owner_asked:  # the owner's own click asked; what it read shaped it
            origin = source_phrase(card.context_sources)
            out.append(f"its text draws on {origin}" if origin else "content you did not write shaped it")
        elif rule.startswith("R9_"):
            origin = source_phrase(card.context_sources)
            out.append(f"{origin} asked for it, not you" if origin else "content you did not write shaped it")
        elif rule.startswith("R11_"):
            out.append("it moves money" if reason.endswith("moves money") else "you approve every action of this kind")
        elif rule.startswith(("R8_", "R10_", "R5_")):
            out.append(reason)
    return list(dict.fromkeys(out))


def card_sentence(card: ApprovalCard, *, owner_asked: bool = False) -> str:
    """e.g. 'Aegis wants to send this email to dana@example.com because an email from
    dana@example.com asked for it, not you.' ``owner_asked``: the owner's own button asked (a
    Publish on the content page), so what was read only shaped the text."""
    because = _because(card, owner_asked)
    why = f" because {', and '.join(because)}" if because else ""
    return f"Aegis wants to {tool_words(card.tool)}{_recipients(card)}{why}."


def trace_sentence(tool: str, status: str, approval_id: str | None) -> str:
    """One line for a tool call in the chat, instead of its JSON."""
    if approval_id or status in ("approval_required", "pending"):
        return f"Waiting for your approval to {tool_words(tool)}."
    if status in ("denied", "deny", "refused"):
        return f"Aegis refused to {tool_words(tool)}: a safety rule stopped it."
    if status in ("error", "failed"):
        return f"Tried to {tool_words(tool)}, but it failed."
    acts = tool in ACTIONS or tool in _installed()[0]
    if status == "running":
        return f"Working: {tool_words(tool)}…" if acts else f"Working: {done_words(tool) or tool}…"
    return f"Done: {tool_words(tool)}." if acts else f"{done_words(tool) or 'Used ' + tool}."
