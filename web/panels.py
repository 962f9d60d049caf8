"""Home-page panels: the ones the installed integrations' manifests declare, in their order.

Each panel names a READ tool, its arguments and a render (:mod:`integrations.views`). The home page
asks each panel on its own: when its integration is not connected it shows "not connected" with a
link to Integrations instead of calling the tool; a failure shows as that panel's plain message and
never breaks the others. The console reads through the same gateway the model uses
(:meth:`web.data.ToolAccess.read`), so every panel read is audited and labelled.

Everything a panel shows comes from tool results: it is turned into plain text here (HTML entities
decoded, invisible characters dropped) and the template escapes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import unescape
from typing import Any

from integrations import PlacedView
from integrations.views import Item, ViewData, render, resolve_args
from web.data import ConsoleData
from web.sanitize import INVISIBLE


@dataclass
class PanelView:
    panel: PlacedView
    state: str  # "ok", "not_connected", "needs_reauth", "error"
    data: ViewData | None = None
    chart: dict[str, Any] | None = None
    message: str | None = None
    integration_title: str = ""
    figures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.panel.integration}-{self.panel.view.id}"

    @property
    def title(self) -> str:
        return self.panel.view.title

    @property
    def integration(self) -> str:
        return self.panel.integration


def plain(value: str, limit: int = 300) -> str:
    """Text from a vendor as plain text: entities decoded (mail snippets carry them), invisible
    characters dropped. The template escapes the result, so no markup can take effect."""
    return INVISIBLE.sub("", unescape(value))[:limit]


def _clean(data: ViewData) -> ViewData:
    items = tuple(
        Item(plain(i.title, 200), plain(i.detail), plain(i.when, 64), plain(i.amount, 64)) for i in data.items
    )
    return ViewData(items, {plain(k): plain(v) for k, v in data.figures.items()}, data.chart, data.empty)


def chart_data(kind: str, labels: tuple[str, ...], values: tuple[float, ...], unit: str) -> dict[str, Any]:
    """What the chart macro draws (``macros/chart.html``): labels as plain text. Category codes read as
    words (``RENT_AND_UTILITIES``: "Rent and utilities"); a line's dates and a doughnut's names
    (tickers) stay as they are."""
    over_time = kind == "line"
    as_is = kind in ("line", "doughnut")
    return {
        "kind": kind,
        "labels": [plain(label if as_is else label.replace("_", " ").capitalize(), 80) for label in labels],
        "values": list(values),
        "series": "Value" if over_time else "Amount",
        "unit": unit,
        "x_title": "Date" if over_time else "Category",
    }


async def load_panel(data: ConsoleData, placed: PlacedView) -> PanelView:
    manifest = data.catalog.get(placed.integration)
    if manifest is None or data.tools is None:
        return PanelView(placed, "not_connected")
    title = manifest.title
    probe = await data.probe(manifest)
    if probe.needs_reauth and await data.has_credential(manifest) is not False:
        return PanelView(placed, "needs_reauth", message=probe.error, integration_title=title)
    if not await data.connected(manifest):
        return PanelView(placed, "not_connected", integration_title=title)
    view = placed.view
    result = await data.tools.read(view.tool, resolve_args(view.args, data.now().date()))
    if not result.ok:
        return PanelView(placed, "error", message=(result.error or "unavailable")[:300], integration_title=title)
    shown = _clean(render(view.render, result.content))
    chart = None
    if shown.chart is not None and shown.chart.values:
        chart = chart_data(shown.chart.kind, shown.chart.labels, shown.chart.values, shown.chart.unit)
    return PanelView(placed, "ok", shown, chart, integration_title=title, figures=list(shown.figures.items()))


async def load_panels(data: ConsoleData) -> list[PanelView]:
    return [await load_panel(data, p) for p in data.catalog.panels()]


async def load_money(data: ConsoleData) -> list[PanelView]:
    """The money page: what the installed finance integrations declare, each section on its own."""
    return [await load_panel(data, p) for p in data.catalog.money()]
