"""The groceries MCP server: a plan for the next days that meets the owner's goals, the approval it
waits for, and FoodData Central look-ups.

Scopes: ``groceries.plan`` for ``plan_next`` (the ``grocery_order`` job); ``groceries.read`` for the
read tools; ``groceries.deliver`` for ``deliver`` (always approved by the owner first);
``groceries.manage`` for the console's settings and disconnect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field, ValidationError
from typing_extensions import TypedDict

from mcp_servers._common import CREATE, LOCAL_READ, READ, SEND, SYNC, CallGate, audit_details, vendor_errors
from mcp_servers.groceries.document import plan_document
from mcp_servers.groceries.foods import Food
from mcp_servers.groceries.planner import Infeasible
from mcp_servers.groceries.service import (
    OFFLINE,
    ONLINE,
    build_body,
    day_label,
    refresh,
    shopping_words,
    totals_words,
)
from mcp_servers.groceries.settings import Settings
from mcp_servers.groceries.store import WAITING, GroceryStore, PlanLocked, StoredPlan
from storage.audit import AuditEvent
from tools.errors import AuthExpired
from tools.usda.client import UsdaClient
from tools.usda.models import FdcFood

NAME = "groceries"
ACTOR = "mcp-groceries"
RESOURCE = "mcp:groceries"
INSTRUCTIONS = (
    "The owner's grocery plans: quantities come from an optimiser that meets the owner's protein and "
    "energy goals. Never change quantities; a plan is delivered only after the owner approves it."
)
PlanId = Annotated[str, Field(pattern=r"^plan-\d{4}-\d{2}-\d{2}$")]


class DayTotals(TypedDict):
    date: str
    label: str
    protein_g: int
    kcal: int
    cost_usd: float
    meets: str


class PlanView(TypedDict):
    plan_id: str
    status: str
    start_date: str
    end_date: str
    source: str
    cost_usd: float
    days: list[DayTotals]
    shopping: list[dict[str, Any]]
    shopping_list: str
    totals: str
    goals: dict[str, Any]
    active_kcal: float | None
    page: str


class PlanNextResult(TypedDict):
    plan: PlanView
    propose: dict[str, Any]


class CurrentResult(TypedDict):
    plans: list[PlanView]
    days: list[DayTotals]
    waiting: list[dict[str, str]]


class FoodHit(TypedDict):
    fdc_id: int | None
    description: str
    kcal: float | None
    protein_g: float | None
    fat_g: float | None
    carbs_g: float | None


class LookupResult(TypedDict):
    source: str
    foods: list[FoodHit]


class DeliverResult(TypedDict):
    plan_id: str
    status: str
    page: str
    mail_subject: str
    mail_body: str
    notify_owner: dict[str, str]


class DisconnectResult(TypedDict):
    deleted: int


@dataclass
class GroceryDeps:
    store: GroceryStore
    usda: UsdaClient
    foods: Sequence[Food]
    gate: CallGate
    today: Callable[[], dt.date]
    demo: bool = False


def _hit(fdc_id: int | None, f: Food | FdcFood) -> FoodHit:
    return {
        "fdc_id": fdc_id,
        "description": f.description,
        "kcal": f.kcal,
        "protein_g": f.protein_g,
        "fat_g": f.fat_g,
        "carbs_g": f.carbs_g,
    }


def page_of(pid: str) -> str:
    return f"/integrations/{NAME}/pages/plan?id={pid}"


def view(stored: StoredPlan) -> PlanView:
    body = stored.body
    goals = body["goals"]
    days: list[DayTotals] = [
        {
            "date": d["date"],
            "label": day_label(d["date"]),
            "protein_g": round(d["protein_g"]),
            "kcal": round(d["kcal"]),
            "cost_usd": d["cost_usd"],
            "meets": "meets your goals"
            if d["protein_g"] >= goals["protein_min_g"] and d["kcal"] <= goals["kcal_max"]
            else "misses a goal",
        }
        for d in body["days"]
    ]
    return {
        "plan_id": stored.id,
        "status": stored.status,
        "start_date": body["start_date"],
        "end_date": body["end_date"],
        "source": body["source"],
        "cost_usd": body["cost_usd"],
        "days": days,
        "shopping": body["shopping"],
        "shopping_list": shopping_words(body),
        "totals": totals_words(body),
        "goals": goals,
        "active_kcal": body.get("active_kcal"),
        "page": page_of(stored.id),
    }


def mail_text(v: PlanView) -> tuple[str, str]:
    subject = f"Grocery list for {day_label(v['start_date'])} to {day_label(v['end_date'])}"
    body = "\n".join(
        [
            f"{subject}, approved by you in Aegis.",
            "",
            "Buy:",
            v["shopping_list"],
            "",
            "Each day against your goals:",
            v["totals"],
            "",
            f"Nutrient values: {v['source']}. Printable page: {v['page']}",
        ]
    )
    return subject, body


def build_server(deps: GroceryDeps) -> MCPServer:
    server = MCPServer(NAME, instructions=INSTRUCTIONS)
    gate, store = deps.gate, deps.store

    def event(action: str, claims: dict[str, Any] | None, result: str = "ok", **details: Any) -> AuditEvent:
        return AuditEvent(ACTOR, action, result, resource=RESOURCE, details=audit_details(claims, **details))

    async def _plan(claims: dict[str, Any] | None, start: dt.date, active_kcal: float | None) -> PlanNextResult:
        settings = await store.settings()
        with vendor_errors(NAME):
            foods, source, missing = await refresh(deps.foods, deps.usda)
        try:
            body = build_body(foods, settings, start, active_kcal=active_kcal, source=source, missing=missing)
        except Infeasible as exc:
            raise ToolError(f"{NAME}: no plan meets your goals: {exc}") from None
        try:
            stored = await store.put_plan(start, body, event("groceries.plan", claims, plan=f"plan-{start}"))
        except PlanLocked as exc:
            raise ToolError(f"{NAME}: {exc}") from None
        v = view(stored)
        args = {"plan_id": v["plan_id"], "shopping_list": v["shopping_list"], "totals": v["totals"]}
        return {"plan": v, "propose": {"tool": f"{NAME}.deliver", "args": args}}

    @server.tool(annotations=SYNC)
    async def plan_next(
        ctx: Context,
        start_date: dt.date | None = None,
        active_kcal: Annotated[float | None, Field(ge=0, le=6000)] = None,
    ) -> PlanNextResult:
        """Plan groceries for the next days (from tomorrow unless start_date is given) that meet the
        owner's goals, and propose it for the owner's approval. active_kcal: the owner's mean daily
        active energy lately, if known."""
        claims = await gate.check(ctx, "groceries.plan", "plan_next")
        return await _plan(claims, start_date or deps.today() + dt.timedelta(days=1), active_kcal)

    if deps.demo:

        @server.tool(annotations=CREATE)
        async def sandbox_connect(ctx: Context) -> PlanNextResult:
            """Demo only: a plan for the days from tomorrow, as the grocery job makes it."""
            claims = await gate.check(ctx, "groceries.plan", "sandbox_connect")
            return await _plan(claims, deps.today() + dt.timedelta(days=1), None)

    @server.tool(annotations=LOCAL_READ)
    async def current_plan(ctx: Context) -> CurrentResult:
        """The latest grocery plan (waiting for approval or approved), with each day's totals."""
        await gate.check(ctx, "groceries.read", "current_plan")
        found = await store.latest()
        if found is None:
            return {"plans": [], "days": [], "waiting": []}
        v = view(found)
        waiting = []
        if found.status == WAITING:
            span = f"{day_label(v['start_date'])} to {day_label(v['end_date'])}"
            waiting.append(
                {"title": f"A grocery list for {span} waits for your approval", "detail": v["totals"].splitlines()[-1]}
            )
        return {"plans": [v], "days": v["days"], "waiting": waiting}

    @server.tool(annotations=LOCAL_READ)
    async def show_plan(plan_id: PlanId, ctx: Context) -> PlanView:
        """One grocery plan: the list, grams of each food per day, and each day's totals."""
        await gate.check(ctx, "groceries.read", "show_plan")
        found = await store.get(plan_id)
        if found is None:
            raise ToolError(f"{NAME}: no plan {plan_id}")
        return view(found)

    @server.tool(annotations=LOCAL_READ)
    async def printable(ctx: Context, plan_id: PlanId | None = None) -> dict[str, Any]:
        """One grocery plan (the latest when no id is given) as a printable document."""
        await gate.check(ctx, "groceries.read", "printable")
        found = await (store.get(plan_id) if plan_id else store.latest())
        if found is None:
            return {"title": "Grocery list", "subtitle": "No grocery plan yet.", "sections": []}
        return plan_document(found)

    @server.tool(annotations=LOCAL_READ)
    async def settings(ctx: Context) -> dict[str, Any]:
        """The owner's grocery goals, preferences, exclusions and budget, and the foods they may name."""
        await gate.check(ctx, "groceries.read", "settings")
        current = (await store.settings()).model_dump(mode="json")
        tags = sorted({t for f in deps.foods for t in f.tags})
        return {"settings": current, "foods": sorted(f.key for f in deps.foods), "tags": tags}

    @server.tool(annotations=CREATE)
    async def save_settings(values: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Console only: replace the owner's grocery settings (validated; nothing changes on an error)."""
        claims = await gate.check(ctx, "groceries.manage", "save_settings")
        try:
            new = Settings.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
            raise ToolError(f"{NAME}: settings not saved: {problems}"[:500]) from None
        known = {f.key for f in deps.foods} | {t for f in deps.foods for t in f.tags}
        unknown = sorted((set(new.like) | set(new.exclude)) - known)
        if unknown:
            raise ToolError(f"{NAME}: settings not saved: unknown foods or tags {unknown}")
        await store.save_settings(new, event("groceries.settings", claims))
        return {"settings": new.model_dump(mode="json")}

    @server.tool(annotations=READ)
    async def lookup_food(
        query: Annotated[str, Field(min_length=1, max_length=100)],
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=25)] = 5,
    ) -> LookupResult:
        """Energy, protein, fat and carbohydrate per 100 g of foods matching query, from USDA
        FoodData Central (the offline table when no API key is stored)."""
        await gate.check(ctx, "groceries.read", "lookup_food")
        try:
            await deps.usda.get_credential("usda-api-key")
        except AuthExpired:
            words = query.casefold().split()
            hits = [f for f in deps.foods if all(w in f.description.casefold() for w in words)][:limit]
            return {"source": OFFLINE, "foods": [_hit(None, f) for f in hits]}
        with vendor_errors(NAME):
            found = await deps.usda.search(query, page_size=limit)
        return {"source": ONLINE, "foods": [_hit(f.fdc_id, f) for f in found]}

    @server.tool(annotations=SEND)
    async def deliver(
        plan_id: PlanId,
        shopping_list: Annotated[str, Field(max_length=4000)],
        totals: Annotated[str, Field(max_length=4000)],
        ctx: Context,
    ) -> DeliverResult:
        """Deliver an approved grocery plan to the owner: its printable page and a mail to the owner.
        The list and totals must be exactly the plan's (as the owner saw them on the approval card)."""
        claims = await gate.check(ctx, "groceries.deliver", "deliver")
        found = await store.get(plan_id)
        if found is None:
            raise ToolError(f"{NAME}: no plan {plan_id}")
        v = view(found)
        if shopping_list != v["shopping_list"] or totals != v["totals"]:
            raise ToolError(f"{NAME}: the list or totals differ from plan {plan_id}; nothing delivered")
        try:
            approved = await store.approve(plan_id, event("groceries.deliver", claims, plan=plan_id))
        except PlanLocked as exc:
            raise ToolError(f"{NAME}: {exc}") from None
        subject, text = mail_text(view(approved))
        return {
            "plan_id": plan_id,
            "status": approved.status,
            "page": v["page"],
            "mail_subject": subject,
            "mail_body": text,
            "notify_owner": {"title": subject, "body": text, "page": v["page"]},
        }

    @server.tool(annotations=SEND)
    async def disconnect(ctx: Context) -> DisconnectResult:
        """Console only: delete every grocery plan and the grocery settings."""
        claims = await gate.check(ctx, "groceries.manage", "disconnect")
        return {"deleted": await store.forget(event("groceries.forget", claims))}

    return server
