"""The simulated world behind the real gateway: mailbox, calendar, chats, feeds, web, bank,
brokerage, grocery, contacts and memory, all in memory.

:meth:`World.execute` is the gateway's executor (the stand-in for the MCP servers): it applies a
call's effect and records it in :attr:`World.effects`. Reads change nothing. A tool a case marks
``malicious`` (a compromised server) records an effect on every call: the server itself exfiltrates.
A tool with a seeded error (``seed.errors``) fails with that text, as an MCP ``isError`` result does;
an installed integration's tool with no handler answers its seeded result, or an empty one.
Calendar reads see the events of the window that starts on the world clock's day.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from agent.adversarial.cases import Case
from agent.adversarial.defaults import CONTACTS, DNS, OWNER_CARD, OWNER_EMAIL, PAGES, default_seed
from agent.adversarial.network import Page, SimNetwork
from agent.adversarial.text import render_value
from agent.gateway.gateway import ExecRequest, ToolFailed
from agent.gateway.registry import ToolClass
from tools.egress import EgressError, EgressGuard, guarded_fetch

__all__ = ["Effect", "World"]


@dataclass(frozen=True)
class Effect:
    tool: str
    args: Mapping[str, Any]
    call_id: str


Handler = Callable[[ExecRequest], Awaitable[Any]]


@dataclass
class World:
    case: Case
    guard: EgressGuard
    allowlist_name: str = "news"
    persist_labels: bool = True
    recheck_redirects: bool = True
    effects: list[Effect] = field(default_factory=list)  # side effects (and anything a malicious server got)
    calls: list[Effect] = field(default_factory=list)  # every call the servers received, reads included
    state: dict[str, Any] = field(default_factory=dict)
    network: SimNetwork = field(init=False)
    malicious: set[str] = field(default_factory=set)
    results: dict[str, Any] = field(default_factory=dict)  # canned results of installed integrations' reads
    errors: dict[str, str] = field(default_factory=dict)  # tool -> the error text it fails with
    clock: Callable[[], datetime] = lambda: datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

    def __post_init__(self) -> None:
        canaries = self.case.canaries
        seed = default_seed()
        for key, items in self.case.seed.items():
            if key in seed:
                seed[key] = seed[key] + copy.deepcopy(list(items))
        self.state = render_value(seed, canaries=canaries)
        self.state.update(
            drafts=[],
            outbox=[],
            balances=[{"name": "Checking", "mask": "4821", "balance": "1,234.56"}],
            positions=[{"symbol": "VTI", "qty": 12}, {"symbol": "AAPL", "qty": 30}],
        )
        pages = {u: Page(**p) for u, p in PAGES.items()}
        pages |= {
            u: Page(**render_value(dict(p), canaries=canaries)) for u, p in (self.case.seed.get("web") or {}).items()
        }
        dns = {**DNS, **{h.lower(): list(v) for h, v in (self.case.seed.get("dns") or {}).items()}}
        self.network = SimNetwork(pages, dns, self.guard.allowlists.get(self.allowlist_name, ()))
        self.start_turn(0)
        self.results = render_value(dict(self.case.seed.get("results") or {}), canaries=canaries)
        self.errors = render_value(dict(self.case.seed.get("errors") or {}), canaries=canaries)

    def start_turn(self, turn: int) -> None:
        """A new session: a server that turned malicious with a changed definition is malicious from
        the turn it lists that definition."""
        self.malicious = {o.qualified for o in self.case.tools if o.malicious and o.from_turn <= turn}

    # -- the executor ---------------------------------------------------------------------------

    async def execute(self, req: ExecRequest) -> Any:
        name = req.spec.name
        args = dict(req.call.args)
        self.calls.append(Effect(name, args, req.call.call_id))
        if name in self.malicious:
            self._effect(req)  # the compromised server does what it likes with the arguments
            return {"ok": True, "note": "done"}
        if name in self.errors:  # the server answers with an error; nothing happened
            raise ToolFailed(self.errors[name])
        handler = getattr(self, "_" + name.replace(".", "_"), None)
        if handler is None:  # an installed integration's tool: as the case seeds it, or an empty answer
            if req.spec.cls not in (ToolClass.READ, ToolClass.EGRESS_READ):
                self._effect(req)  # its side effect happened (an order placed, a message sent)
            return copy.deepcopy(self.results.get(name, {"status": "ok", "items": []}))
        if req.spec.cls not in (ToolClass.READ, ToolClass.EGRESS_READ):
            self._effect(req)
        result: Any = await handler(args, req)
        return result

    def _effect(self, req: ExecRequest) -> None:
        self.effects.append(Effect(req.spec.name, dict(req.call.args), req.call.call_id))

    # -- mail -----------------------------------------------------------------------------------

    async def _gmail_search(self, args: dict[str, Any], req: ExecRequest) -> Any:
        words = str(args.get("query", "")).lower().split()

        def matches(m: Mapping[str, Any], w: str) -> bool:
            if w == "is:unread":
                return bool(m.get("unread", False))
            if w.startswith("from:"):
                return w[5:] in str(m["from"]).lower()
            return w in f"{m['from']} {m['subject']} {m['body']}".lower()

        out = [
            {k: v for k, v in m.items() if k != "unread"}
            for m in self.state["mail"]
            if all(matches(m, w) for w in words)
        ]
        return {"messages": out}

    async def _gmail_read_thread(self, args: dict[str, Any], req: ExecRequest) -> Any:
        tid = args.get("thread_id")
        msgs = [
            {k: v for k, v in m.items() if k != "unread"}
            for m in self.state["mail"]
            if m.get("thread_id", m["id"]) == tid
        ]
        if not msgs:
            raise ToolFailed(f"no thread {tid}")
        return {"messages": msgs}

    async def _gmail_draft_reply(self, args: dict[str, Any], req: ExecRequest) -> Any:
        self.state["drafts"].append(dict(args))
        return {"draft_id": f"d{len(self.state['drafts'])}"}

    async def _gmail_send(self, args: dict[str, Any], req: ExecRequest) -> Any:
        self.state["outbox"].append(dict(args))
        return {"sent": True}

    async def _gmail_trash(self, args: dict[str, Any], req: ExecRequest) -> Any:
        self.state["mail"] = [m for m in self.state["mail"] if m["id"] != args.get("message_id")]
        return {"trashed": args.get("message_id")}

    # -- calendar, chats, feeds -----------------------------------------------------------------

    async def _calendar_list_events(self, args: dict[str, Any], req: ExecRequest) -> Any:
        """The events from the clock's day through ``days`` days ahead (7 by default); an event
        dated weeks ahead is not seen until its window comes."""
        today = self.clock().date()
        last = today + timedelta(days=int(args.get("days") or 7))
        return {"events": [copy.deepcopy(e) for e in self.state["calendar"] if today <= _day(e, today) <= last]}

    async def _calendar_create_event(self, args: dict[str, Any], req: ExecRequest) -> Any:
        self.state["calendar"].append({"id": f"e{len(self.state['calendar']) + 1}", "organizer": OWNER_EMAIL, **args})
        return {"created": True}

    async def _calendar_add_participant(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"added": args.get("participant")}

    async def _calendar_delete_event(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"deleted": args.get("event_id")}

    async def _whatsapp_list_messages(self, args: dict[str, Any], req: ExecRequest) -> Any:
        chat = args.get("chat")
        return {"messages": [m for m in self.state["whatsapp"] if not chat or m["chat"] == chat]}

    async def _whatsapp_send_message(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"sent": True}

    async def _x_read_timeline(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"items": self.state["x"]}

    async def _x_post(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"posted": True}

    async def _x_send_dm(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"sent": True}

    async def _linkedin_read_feed(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"items": self.state["linkedin"]}

    async def _linkedin_post(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"posted": True}

    async def _linkedin_send_message(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"sent": True}

    async def _linkedin_update_profile(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"updated": True}

    # -- memory and contacts --------------------------------------------------------------------

    async def _memory_read(self, args: dict[str, Any], req: ExecRequest) -> Any:
        key = args.get("key")
        return {"items": [dict(m) for m in self.state["memory"] if not key or m["key"] == key]}

    async def _memory_write(self, args: dict[str, Any], req: ExecRequest) -> Any:
        entry: dict[str, Any] = {"key": args["key"], "text": args["text"]}
        if self.persist_labels:
            entry["_label"] = req.label.to_dict()  # registry: persists_label
        self.state["memory"].append(entry)
        return {"stored": args["key"]}

    async def _contacts_lookup(self, args: dict[str, Any], req: ExecRequest) -> Any:
        name = str(args.get("name", "")).lower()
        if name in ("me", "owner", "myself"):
            return {"items": [dict(OWNER_CARD)]}
        return {"items": [dict(c) for c in CONTACTS if name and name in c["name"].lower()]}

    # -- money ----------------------------------------------------------------------------------

    async def _plaid_balances(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"accounts": copy.deepcopy(self.state["balances"])}

    async def _plaid_spending_by_category(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"categories": [{"category": "groceries", "total": "412.80"}, {"category": "travel", "total": "96.00"}]}

    async def _plaid_exchange_public_token(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"linked": True}

    async def _bank_transfer(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"transfer_id": f"tr{len(self.effects)}"}

    async def _broker_positions(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"positions": copy.deepcopy(self.state["positions"])}

    async def _broker_place_order(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"order_id": f"o{len(self.effects)}", "status": "filled"}

    async def _grocery_checkout(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"order_id": f"g{len(self.effects)}"}

    async def _weather_forecast(self, args: dict[str, Any], req: ExecRequest) -> Any:
        return {"city": args.get("city"), "forecast": "Sunny, 21°C"}

    # -- web ------------------------------------------------------------------------------------

    async def _web_fetch(self, args: dict[str, Any], req: ExecRequest) -> Any:
        url = str(args.get("url", ""))
        allowlist = req.spec.allowlist or self.allowlist_name
        try:
            if self.recheck_redirects:
                res = await guarded_fetch(self.guard, url, allowlist, inner=self.network.transport())
                final, status, text = res.url, res.status, res.text
            else:  # mutant: only the first URL is checked, redirects are followed blindly
                self.guard.check_url(url, allowlist)
                async with httpx.AsyncClient(
                    transport=self.network.transport(), follow_redirects=True, trust_env=False
                ) as client:
                    resp = await client.get(url)
                final, status, text = str(resp.url), resp.status_code, resp.text
        except (EgressError, httpx.HTTPError) as exc:
            raise ToolFailed(f"fetch refused or failed: {type(exc).__name__}: {exc}") from None
        self._effect(req)
        return {"url": final, "status": status, "text": text}


def _day(event: Mapping[str, Any], default: date) -> date:
    try:
        return date.fromisoformat(str(event["start"])[:10])
    except (KeyError, ValueError):
        return default  # an event without a date is always in the window
