"""Shared builders for the gateway tests: an approved registry, a context, a fixed clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.adversarial.suite import world_tools
from agent.gateway.context import ContextLabel
from agent.gateway.labeller import default_labeller
from agent.gateway.labels import LabelledResult
from agent.gateway.policy import PolicyContext
from agent.gateway.redact import SecretScanner
from agent.gateway.registry import Registry, ToolDef
from tools.egress import EgressGuard

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
OWNER_EMAIL = "me@owner.example"
CANARY = "canary-Secret-9f8e7d6c"


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def _obj(props: Mapping[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": dict(props), "required": required}


S = {"type": "string"}
LIST = {"type": "array", "items": {"type": "string"}}
SCHEMAS: dict[str, dict[str, Any]] = {
    "gmail.sync": _obj({}, []),
    "gmail.search": _obj({"query": S, "limit": {"type": "integer", "minimum": 1, "maximum": 100}}, ["query"]),
    "gmail.read_thread": _obj({"thread_id": S}, ["thread_id"]),
    "gmail.list_labels": _obj({}, []),
    "gmail.draft_reply": _obj({"thread_id": S, "body": S}, ["thread_id", "body"]),
    "gmail.send": _obj({"to": LIST, "cc": LIST, "bcc": LIST, "subject": S, "body": S}, ["to", "subject", "body"]),
    "plaid.create_link_token": _obj({}, []),
    "plaid.exchange_public_token": _obj({"public_token": S}, ["public_token"]),
    "plaid.sync": _obj({}, []),
    "plaid.balances": _obj({}, []),
    "plaid.spending_by_category": _obj({"start": S, "end": S}, ["start", "end"]),
    "plaid.transactions": _obj(
        {"start_date": S, "end_date": S, "limit": {"type": "integer"}}, ["start_date", "end_date"]
    ),
    "web.fetch": _obj({"url": S}, ["url"]),
    "x.post": _obj({"text": S}, ["text"]),
    "linkedin.post": _obj({"text": S}, ["text"]),
    "broker.place_order": _obj(
        {
            "symbol": S,
            "side": {"enum": ["buy", "sell"]},
            "qty": {"type": "integer"},
            "account": S,
            "notional": {"type": "number"},
        },
        ["symbol", "side", "qty"],
    ),
    "grocery.checkout": _obj({"address_id": S, "payment_id": S, "total": {"type": "number"}}, ["address_id"]),
    "calendar.create_event": _obj(
        {"title": S, "participants": LIST, "description": S, "location": S}, ["title", "participants"]
    ),
    "whatsapp.send_message": _obj({"recipient": S, "message": S}, ["recipient", "message"]),
    "memory.write": _obj({"key": S, "text": S}, ["key", "text"]),
}


def tool_def(qualified: str, description: str = "server text") -> ToolDef:
    return ToolDef(qualified.split(".", 1)[1], description, SCHEMAS[qualified])


def approved_registry() -> Registry:
    """The shipped registry with every tool's definition approved and live."""
    reg = Registry.load(extra_tools=world_tools())
    for name in SCHEMAS:
        reg.approve_pin(name.split(".", 1)[0], tool_def(name))
    return reg


async def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"unexpected DNS lookup for {host}")


def make_ctx(
    registry: Registry | None = None, *, clock: Clock | None = None, scanner: SecretScanner | None = None
) -> PolicyContext:
    reg = registry or approved_registry()
    clk = clock or Clock()
    return PolicyContext(
        context=ContextLabel(owner="owner", clock=clk),
        registry=reg,
        scanner=scanner or SecretScanner([CANARY]),
        egress=EgressGuard(reg.allowlists, resolver=no_dns),
        owner_principals=frozenset({"owner", OWNER_EMAIL}),
        clock=clk,
        session_id="s1",
    )


def read_email(ctx: PolicyContext, msg_id: str, sender: str, body: str, subject: str = "hello") -> None:
    """Append an email as gmail.read_thread would return it (labelled by the default labeller)."""
    spec = ctx.registry.spec("gmail.read_thread") or Registry.load(extra_tools=world_tools()).spec("gmail.read_thread")
    assert spec is not None
    content = {"messages": [{"id": msg_id, "from": sender, "to": OWNER_EMAIL, "subject": subject, "body": body}]}
    label = default_labeller(spec, {"thread_id": msg_id}, content, ctx.clock(), ctx.owner_principals)
    ctx.context.append(LabelledResult(content, label))
