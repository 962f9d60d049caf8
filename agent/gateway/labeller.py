"""Ingest labelling: the label a tool result gets, from the registry's ``result`` defaults.

The default labeller labels each item of a result separately and joins them:

* integrity / conf / channel come from the registry entry (never from the server);
* ``principal`` is the item's ``from`` / ``sender`` / ``organizer`` / ``author`` field;
* readers of PRIVATE items are the owner plus the people already on the item (``from``, ``to``,
  ``cc``, ``participants``…), so a reply to the sender passes P-F; PUBLIC items are readable by
  all; items of SYSTEM/OWNER tools are readable by the owner only;
* an item carrying ``"_label"`` (a label stored with the data, e.g. memory) is joined in, so
  taint survives storage.

Items are found as: a list result's elements, or the list under ``messages`` / ``items`` /
``results`` / ``events`` / ``threads``, or the result itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from agent.gateway.hidden import hidden_content
from agent.gateway.instructions import ADDRESSED_TO_ASSISTANT, addresses_assistant
from agent.gateway.labels import ALL, Conf, Integrity, Label, LabelError, Readers, Source, readers_of
from agent.gateway.registry import ToolSpec

__all__ = ["default_labeller"]

_PRINCIPAL_KEYS = ("from", "sender", "organizer", "author", "from_address")
_READER_KEYS = ("from", "sender", "to", "cc", "participants", "attendees", "organizer", "recipients")
_ID_KEYS = ("id", "message_id", "thread_id", "event_id", "url", "key")
_LIST_KEYS = ("messages", "items", "results", "events", "threads")
_ADDR = re.compile(r"<([^<>\s]+)>")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\([^()]*\)')


def _entries(value: str) -> list[str]:
    """A header value split at commas outside quotes, comments and angle brackets."""
    parts: list[str] = []
    depth, quoted, start = 0, False, 0
    for i, ch in enumerate(value):
        if ch == '"' and (i == 0 or value[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and ch in "<(":
            depth += 1
        elif not quoted and ch in ">)":
            depth = max(0, depth - 1)
        elif ch == "," and not quoted and depth == 0:
            parts.append(value[start:i])
            start = i + 1
    parts.append(value[start:])
    return [p for p in parts if p.strip()]


def _addresses(value: Any) -> list[str]:
    """The real addresses in a header value. A display name is text anyone can write, so an address
    inside it (``"Me <me@owner.example>" <x@evil.example>``) is ignored: the address is the last
    angle-bracketed one of each entry, or the entry itself."""
    out: list[str] = []
    if isinstance(value, str):
        for part in _entries(value):
            bare = _QUOTED.sub(" ", part)
            found = _ADDR.findall(bare)
            addr = (found[-1] if found else bare).strip()
            if addr:
                out.append(addr)
    elif isinstance(value, (list, tuple)):
        for v in value:
            out += _addresses(v)
    elif isinstance(value, Mapping):
        out += _addresses(value.get("email") or value.get("address") or "")
    return out


def _items(content: Any) -> list[Any]:
    if isinstance(content, list):
        return content or [content]
    if isinstance(content, Mapping):
        for k in _LIST_KEYS:
            if isinstance(content.get(k), list) and content[k]:
                return list(content[k])
    return [content]


def _stored_label(item: Any) -> Label | None:
    if not isinstance(item, Mapping) or "_label" not in item:
        return None
    raw = item["_label"]
    try:
        return Label.from_json(raw) if isinstance(raw, str) else Label.from_dict(raw)
    except (LabelError, TypeError, AttributeError):
        # Unreadable stored label: fail closed to the most restrictive label.
        return Label(Integrity.UNTRUSTED, Conf.SECRET, frozenset(), frozenset())


def default_labeller(
    spec: ToolSpec, args: Mapping[str, Any], content: Any, now: datetime, owner: Iterable[str]
) -> Label:
    r = spec.result
    owners = list(owner)
    owner_set = {o.casefold() for o in owners}
    labels: list[Label] = []
    for item in _items(content):
        principal: str | None = None
        item_id: str | None = None
        people: list[str] = []
        if isinstance(item, Mapping):
            principal = next((a for k in _PRINCIPAL_KEYS for a in _addresses(item.get(k))), None)
            item_id = next((str(item[k]) for k in _ID_KEYS if item.get(k) not in (None, "")), None)
            people = [a for k in _READER_KEYS for a in _addresses(item.get(k))]
        if spec.url_arg and isinstance(args.get(spec.url_arg), str):
            url = str(args[spec.url_arg])
            item_id = item_id or url
            principal = principal or urlsplit(url).hostname
        readers: Readers
        if r.conf == Conf.PUBLIC:
            readers = ALL
        elif r.integrity >= Integrity.OWNER:
            readers = readers_of(owners)
        else:
            readers = readers_of([*owners, *people])
        flags: tuple[str, ...] = ()
        if r.integrity < Integrity.OWNER:
            flags = hidden_content(item) + ((ADDRESSED_TO_ASSISTANT,) if addresses_assistant(item) else ())
        if principal is not None and r.integrity < Integrity.OWNER and principal.casefold() in owner_set:
            flags += ("claims_to_be_owner",)  # content may say it is the owner; only the console is
        src = Source(r.channel, spec.server, spec.tool, item_id or "-", principal, now, flags)
        label = Label(r.integrity, r.conf, readers, frozenset({src}))
        stored = _stored_label(item)
        labels.append(label.join(stored) if stored is not None else label)
    return Label.join_all(labels)
