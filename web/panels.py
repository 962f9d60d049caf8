"""Home-page panels: one per connected integration, and a registry later integrations join.

A panel names its integration (a key of :data:`web.data.INTEGRATIONS`), a title, a template under
``web/templates/panels/`` and an async ``load(data)`` returning that template's context. The home
page asks each registered panel in order; when its integration is not connected the page shows
"not connected" with a link to Integrations instead of calling ``load``. To add one::

    @register
    class CalendarPanel:
        name, title, integration, template = "calendar", "Today", "calendar", "panels/calendar.html"
        async def load(self, data: ConsoleData) -> dict[str, Any]: ...

Everything a panel shows comes from tool results: templates render it as escaped text only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from html import unescape
from typing import Any, Protocol, TypeVar

from web.data import INTEGRATIONS, ConsoleData
from web.sanitize import INVISIBLE

MAIL_QUERY = "label:important in:inbox"
MAIL_LIMIT = 5
SPENDING_DAYS = 30
CHART_WIDTH = 320  # the SVG viewBox width; it scales to the panel
BAR_HEIGHT = 12
LABEL_HEIGHT = 17  # the label line above each bar
BAR_GAP = 9


class PanelError(Exception):
    """The panel could not load; the message is shown (it comes from our code or the gateway)."""


class Panel(Protocol):
    name: str
    title: str
    integration: str
    template: str

    async def load(self, data: ConsoleData) -> dict[str, Any]: ...


PANELS: list[Panel] = []
P = TypeVar("P", bound=type)


def register(cls: P) -> P:
    """Class decorator: add one instance of the panel to the home page."""
    panel = cls()
    if any(p.name == panel.name for p in PANELS):
        raise ValueError(f"a panel named {panel.name!r} is registered already")
    PANELS.append(panel)
    return cls


@dataclass
class PanelView:
    panel: Panel
    state: str  # "ok", "not_connected", "needs_reauth", "error"
    context: dict[str, Any] = field(default_factory=dict)
    message: str | None = None


async def load_panels(data: ConsoleData) -> list[PanelView]:
    views = []
    for panel in PANELS:
        integration = INTEGRATIONS.get(panel.integration)
        if integration is None or data.tools is None:
            views.append(PanelView(panel, "not_connected"))
            continue
        probe = await data.probe(integration)
        if probe.needs_reauth and await data.has_credential(integration) is not False:
            views.append(PanelView(panel, "needs_reauth", message=probe.error))
            continue
        if not await data.connected(integration):
            views.append(PanelView(panel, "not_connected"))
            continue
        try:
            views.append(PanelView(panel, "ok", await panel.load(data)))
        except PanelError as exc:
            views.append(PanelView(panel, "error", message=str(exc)[:300]))
    return views


# ---- Plaid -----------------------------------------------------------------------------------


def money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def bar_chart(rows: list[tuple[str, Decimal]]) -> dict[str, Any]:
    """Geometry for a horizontal bar chart drawn by the template as SVG (no script, no inline style)."""
    top = max((v for _, v in rows), default=Decimal(0))
    row = LABEL_HEIGHT + BAR_HEIGHT + BAR_GAP
    bars = []
    for i, (label, value) in enumerate(rows):
        width = 0.0 if top <= 0 else float(value / top) * (CHART_WIDTH - 4)
        y = i * row
        bars.append(
            {"label": label, "value": value, "width": round(max(width, 1.0), 1), "y": y, "text_y": y + 12,
             "bar_y": y + LABEL_HEIGHT}
        )  # fmt: skip
    height = max(len(rows) * row - BAR_GAP, BAR_HEIGHT)
    return {"bars": bars, "width": CHART_WIDTH, "height": height, "bar_height": BAR_HEIGHT}


@register
class PlaidPanel:
    name = "plaid"
    title = "Money"
    integration = "plaid"
    template = "panels/plaid.html"

    async def load(self, data: ConsoleData) -> dict[str, Any]:
        assert data.tools is not None
        balances = await data.tools.read("plaid.balances")
        if not balances.ok:
            raise PanelError(balances.error or "balances are unavailable")
        today = data.now().date()
        start = today - timedelta(days=SPENDING_DAYS - 1)
        spending = await data.tools.read(
            "plaid.spending_by_category", {"start_date": start.isoformat(), "end_date": today.isoformat()}
        )
        if not spending.ok:
            raise PanelError(spending.error or "spending is unavailable")
        accounts = [
            {
                "name": str(a.get("name", "")),
                "mask": a.get("mask"),
                "kind": str(a.get("subtype") or a.get("type") or ""),
                "current": money(a.get("current")),
                "available": money(a.get("available")),
                "currency": a.get("currency") or "",
            }
            for a in balances.content.get("accounts", [])
        ]
        by_currency: dict[str, list[tuple[str, Decimal]]] = {}
        for c in spending.content.get("categories", []):
            total = money(c.get("total"))
            if total is not None and total > 0:
                by_currency.setdefault(str(c.get("currency") or ""), []).append(
                    (str(c.get("category") or "Other").replace("_", " ").capitalize(), total)
                )
        charts = [
            {
                "currency": cur,
                "total": sum((v for _, v in rows), Decimal(0)),
                **bar_chart(sorted(rows, key=lambda r: -r[1])),
            }
            for cur, rows in sorted(by_currency.items())
        ]
        return {"accounts": accounts, "charts": charts, "start": start, "end": today}


# ---- Gmail -----------------------------------------------------------------------------------


def mail_text(value: Any, limit: int = 300) -> str:
    """A header or snippet as plain text: Gmail snippets carry HTML entities; invisible characters go.
    The template escapes the result, so no markup from the mail can take effect."""
    return INVISIBLE.sub("", unescape(str(value or "")))[:limit]


@register
class GmailPanel:
    name = "gmail"
    title = "Important mail"
    integration = "gmail"
    template = "panels/gmail.html"

    async def load(self, data: ConsoleData) -> dict[str, Any]:
        assert data.tools is not None
        found = await data.tools.read("gmail.search", {"query": MAIL_QUERY, "limit": MAIL_LIMIT})
        if not found.ok:
            raise PanelError(found.error or "mail is unavailable")
        messages = [
            {
                "sender": mail_text(m.get("from"), 200),
                "subject": mail_text(m.get("subject"), 200) or "(no subject)",
                "snippet": mail_text(m.get("snippet")),
                "date": mail_text(m.get("date"), 64),
                "unread": "UNREAD" in (m.get("labels") or []),
            }
            for m in found.content.get("messages", [])
        ]
        return {"messages": messages, "query": MAIL_QUERY}
