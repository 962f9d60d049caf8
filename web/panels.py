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

from dataclasses import dataclass, field, replace
from html import unescape
from typing import Any

from integrations import PlacedView, money
from integrations.merged import failure_line
from integrations.views import Item, ViewData, render, render_merged, resolve_args
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
        return f"{self.panel.integration or 'core'}-{self.panel.view.id}"

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
        Item(plain(i.title, 200), plain(i.detail), plain(i.when, 64), plain(i.amount, 64), plain(i.source, 80))
        for i in data.items
    )
    items = tuple(replace(it, conflict=orig.conflict) for it, orig in zip(items, data.items, strict=True))
    return ViewData(items, {plain(k): plain(v) for k, v in data.figures.items()}, data.chart, data.empty)


def _words(label: str) -> str:
    """A category code (``RENT_AND_UTILITIES``, ``INCOME``) as words; names, dates and tickers
    (``VTI``, ``GOOGL``: five letters at most) stay as they are."""
    code = label.isupper() and label.replace("_", "").isalpha() and ("_" in label or len(label) > 5)
    return label.replace("_", " ").capitalize() if code else label


def chart_data(kind: str, labels: tuple[str, ...], values: tuple[float, ...], unit: str) -> dict[str, Any]:
    """What the chart macro draws (``macros/chart.html``): labels as plain text, category codes as
    words (``RENT_AND_UTILITIES``: "Rent and utilities")."""
    over_time = kind == "line"
    return {
        "kind": kind,
        "labels": [plain(_words(label), 80) for label in labels],
        "values": list(values),
        "series": "Value" if over_time else "Amount",
        "unit": unit,
        "x_title": "Date" if over_time else "Category",
    }


def lines_data(
    labels: tuple[str, ...], series: tuple[tuple[str, tuple[float | None, ...]], ...], unit: str, kind: str = "line"
) -> dict[str, Any]:
    """Several lines over time (e.g. each course's grade by day), or several bars side by side for
    each period in order (a month's income and spending), for the chart macro."""
    return {
        "kind": "bar" if kind == "bar" else "line",
        "labels": [plain(label, 40) for label in labels],
        "lines": [(plain(name, 80), list(values)) for name, values in series],
        "unit": unit,
        "x_title": "Period" if kind == "bar" else "Day",
        "timeline": kind == "bar",
    }


async def _merged(data: ConsoleData, placed: PlacedView) -> PanelView:
    """A view the core merges across integrations: each connected source asked on its own; one that
    fails shows as a line saying so, the others still show."""
    assert placed.merged is not None and data.tools is not None
    view, spec, parts, failed = placed.view, placed.merged, [], []
    args = resolve_args(view.args, data.now().date(), data.goals)
    for name, tool in spec.sources:
        manifest = data.catalog.get(name)
        if manifest is None:
            continue
        result = await data.tools.read(tool, spec.tool_args(args))
        if result.ok:
            parts.append((manifest, result.content))
        elif await data.has_credential(manifest) is not False or (await data.probe(manifest)).ok:
            failed.append(Item(plain(failure_line(manifest.title, result.error or "unavailable"))))
    shown = _shown(placed, render(view.render, spec.combine(parts, args)), "")
    assert shown.data is not None
    shown.data = ViewData((*failed, *shown.data.items), shown.data.figures, shown.data.chart, shown.data.empty)
    return shown


async def _worth(data: ConsoleData, placed: PlacedView) -> PanelView:
    """The net worth across the money integrations, from the day's stored snapshot (recorded now
    when the day has none): the same figures the briefing and the digest give. The money page lists
    each account too."""
    book, tools = data.net_worth, data.tools
    if book is None or tools is None:
        return PanelView(placed, "not_connected")

    async def call(tool: str, args: dict[str, Any]) -> Any:
        result = await tools.read(tool, args)
        if not result.ok:
            raise money.SourceFailed(result.error or "unavailable")
        return result.content

    snapshots = await book.ensure(data.now().astimezone(data.timezone).date(), call)
    return _shown(placed, money.view_data(snapshots, book.sources, accounts=placed.view == money.MONEY), "")


async def _read(data: ConsoleData, placed: PlacedView) -> PanelView | tuple[str, Any]:
    """The panel's tool result (with its integration's title), or the panel to show instead."""
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
    result = await data.tools.read(view.tool, resolve_args(view.args, data.now().date(), data.goals))
    if not result.ok:
        return PanelView(placed, "error", message=(result.error or "unavailable")[:300], integration_title=title)
    return title, result.content


def _shown(placed: PlacedView, shown: ViewData, title: str) -> PanelView:
    shown = _clean(shown)
    chart = None
    if shown.chart is not None and shown.chart.series:
        chart = lines_data(shown.chart.labels, shown.chart.series, shown.chart.unit, shown.chart.kind)
    elif shown.chart is not None and shown.chart.values:
        chart = chart_data(shown.chart.kind, shown.chart.labels, shown.chart.values, shown.chart.unit)
    return PanelView(placed, "ok", shown, chart, integration_title=title, figures=list(shown.figures.items()))


async def load_panel(data: ConsoleData, placed: PlacedView) -> PanelView:
    if placed.merged is not None and placed.view.id == money.VIEW_ID:
        return await _worth(data, placed)
    if placed.merged is not None and data.tools is not None:
        return await _merged(data, placed)
    read = await _read(data, placed)
    if isinstance(read, PanelView):
        return read
    title, content = read
    return _shown(placed, render(placed.view.render, content), title)


async def load_merged(data: ConsoleData, group: list[PlacedView]) -> PanelView:
    """One panel over several integrations' panels with the same merge key: what each connected one
    answers, in one list (see :func:`integrations.views.render_merged`); the others are left out."""
    reads = [await _read(data, p) for p in group]
    results = [r for r in reads if not isinstance(r, PanelView)]
    if not results:
        first = reads[0]
        assert isinstance(first, PanelView)
        return first
    titles = " + ".join(title for title, _ in results)
    return _shown(group[0], render_merged(group[0].view.render, results), titles)


async def load_panels(data: ConsoleData) -> list[PanelView]:
    groups: dict[str, list[PlacedView]] = {}
    for placed in data.catalog.panels():
        key = placed.view.merge or f"{placed.integration}-{placed.view.id}"
        groups.setdefault(key, []).append(placed)
    return [await (load_merged(data, g) if len(g) > 1 else load_panel(data, g[0])) for g in groups.values()]


async def load_money(data: ConsoleData) -> list[PanelView]:
    """The money page: what the installed finance integrations declare, each section on its own."""
    return [await load_panel(data, p) for p in data.catalog.money()]
