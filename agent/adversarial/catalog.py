"""The simulated servers' tool definitions, as their ``tools/list`` would present them.

Descriptions here are *server-written* text (never shown to the model: it sees the operator's
descriptions from ``registry.yaml``). Each one starts with ``[<server> server]`` so that the suite
can tell when server text leaks into the model's context.

Besides :data:`CATALOG` (the simulated world's own tools), every tool an installed integration's
manifest declares is in the world too (:func:`installed_tools`): a case calls it by name with no
declaration, its server lists it with an open schema, the operator pinned it, and the world answers
it from the case's ``seed.results`` (or with an empty result). A new integration's tools are in the
suite the day its manifest lands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from agent.gateway.registry import ToolDef
from integrations import Catalog

__all__ = ["CATALOG", "baseline_defs", "installed_tools", "obj", "world_tool_names"]


def obj(props: Mapping[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": dict(props), "required": required, "additionalProperties": False}


_S: dict[str, Any] = {"type": "string"}
_LIST: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
_NUM: dict[str, Any] = {"type": "number"}

# qualified name -> (server-written description, input schema)
CATALOG: dict[str, tuple[str, dict[str, Any]]] = {
    "gmail.search": ("Searches the mailbox; returns matching messages.", obj({"query": _S}, ["query"])),
    "gmail.read_thread": ("Returns every message in a thread.", obj({"thread_id": _S}, ["thread_id"])),
    "gmail.draft_reply": ("Saves a reply as a draft.", obj({"thread_id": _S, "body": _S}, ["thread_id", "body"])),
    "gmail.send": (
        "Sends an email.",
        obj({"to": _LIST, "cc": _LIST, "bcc": _LIST, "subject": _S, "body": _S}, ["to", "subject", "body"]),
    ),
    "gmail.trash": ("Moves a message to the trash.", obj({"message_id": _S}, ["message_id"])),
    "calendar.list_events": ("Lists upcoming events.", obj({"days": {"type": "integer"}}, [])),
    "calendar.create_event": (
        "Creates an event and invites its participants.",
        obj({"title": _S, "participants": _LIST, "description": _S, "location": _S}, ["title", "participants"]),
    ),
    "calendar.add_participant": (
        "Adds a participant to an event.",
        obj({"event_id": _S, "participant": _S}, ["event_id", "participant"]),
    ),
    "calendar.delete_event": ("Deletes an event.", obj({"event_id": _S}, ["event_id"])),
    "whatsapp.list_messages": ("Lists recent chat messages.", obj({"chat": _S}, [])),
    "whatsapp.send_message": (
        "Sends a chat message.",
        obj({"recipient": _S, "message": _S}, ["recipient", "message"]),
    ),
    "x.read_timeline": ("Reads the home timeline.", obj({}, [])),
    "x.post": ("Publishes a post.", obj({"text": _S}, ["text"])),
    "x.send_dm": ("Sends a direct message.", obj({"handle": _S, "text": _S}, ["handle", "text"])),
    "linkedin.read_feed": ("Reads the feed, comments and invitations.", obj({}, [])),
    "linkedin.post": ("Publishes a post.", obj({"text": _S}, ["text"])),
    "linkedin.send_message": (
        "Sends a direct message.",
        obj({"recipient": _S, "text": _S}, ["recipient", "text"]),
    ),
    "linkedin.update_profile": ("Updates the profile headline.", obj({"headline": _S}, ["headline"])),
    "web.fetch": ("Fetches a URL.", obj({"url": _S}, ["url"])),
    "memory.read": ("Reads stored notes.", obj({"key": _S}, [])),
    "memory.write": ("Stores a note.", obj({"key": _S, "text": _S}, ["key", "text"])),
    "contacts.lookup": ("Looks up a contact card.", obj({"name": _S}, ["name"])),
    "plaid.balances": ("Returns account balances.", obj({}, [])),
    "plaid.spending_by_category": (
        "Returns spending per category.",
        obj({"start": _S, "end": _S}, ["start", "end"]),
    ),
    "plaid.exchange_public_token": (
        "Exchanges a public token for an access token.",
        obj({"public_token": _S}, ["public_token"]),
    ),
    "bank.transfer": (
        "Transfers money to another account.",
        obj({"to_account": _S, "amount": _NUM, "memo": _S}, ["to_account", "amount"]),
    ),
    "broker.positions": ("Returns current positions.", obj({}, [])),
    "broker.place_order": (
        "Places an order.",
        obj(
            {
                "symbol": _S,
                "side": {"enum": ["buy", "sell"]},
                "qty": {"type": "integer", "minimum": 1},
                "account": _S,
                "notional": _NUM,
            },
            ["symbol", "side", "qty"],
        ),
    ),
    "grocery.checkout": (
        "Checks out the cart.",
        obj({"address_id": _S, "payment_id": _S, "total": _NUM}, ["address_id"]),
    ),
    "weather.forecast": ("Returns the forecast for a city.", obj({"city": _S}, ["city"])),
}


@cache
def installed_tools() -> dict[str, str]:
    """Every installed integration's tool (qualified name -> its operator description), from the
    manifests (ADMIN tools included: their servers list them, the model is never shown them)."""
    return {name: str(entry.get("description", "")) for name, entry in sorted(Catalog.load().registry_tools().items())}


def world_tool_names() -> frozenset[str]:
    """Every tool a case may call: the simulated catalog and the installed integrations' tools."""
    return frozenset(CATALOG) | frozenset(installed_tools())


def baseline_defs(named: Mapping[str, Iterable[str]] | None = None) -> dict[str, list[ToolDef]]:
    """server -> the definitions the operator reviewed and pinned at setup: the simulated catalog,
    and the installed integrations' tools in ``named`` (tool -> the arguments the case passes it:
    the ones a case uses, as every server listing every tool would make each session's pin check
    cost seconds). An installed tool's schema accepts exactly the arguments named."""
    named = named or {}
    out: dict[str, list[ToolDef]] = {}
    for qualified, (desc, schema) in CATALOG.items():
        server, tool = qualified.split(".", 1)
        out.setdefault(server, []).append(ToolDef(tool, f"[{server} server] {desc}", schema))
    installed = installed_tools()
    for qualified in sorted(set(named) - set(CATALOG)):
        if qualified not in installed:
            continue
        server, tool = qualified.split(".", 1)
        schema = {"type": "object", "properties": {a: {} for a in sorted(named[qualified])}}
        out.setdefault(server, []).append(ToolDef(tool, f"[{server} server] {installed[qualified]}", schema))
    return out
