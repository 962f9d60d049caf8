"""Panels and briefing sections, declared as data in a manifest and rendered by the core.

A view names a READ tool, its arguments (with date placeholders such as ``$today`` or
``$days_ago:30``) and a :class:`Render`: which list of the result to show, how each item reads, an
optional chart and totals. The console's home panel and the briefing section that name the same
tool, arguments and render show the same thing, because they are the same computation.

Everything here reads tool results as untrusted data: values are turned into plain strings only
(templates escape them), and nothing in a result can change how it is rendered.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_PLACEHOLDER = re.compile(
    r"\$(today|tomorrow|week_start|last_month_start|month_start|days_ago:\d{1,3}|days_ahead:\d{1,3})(_slash)?"
)
MAX_TEXT = 200


class ItemFormat(BaseModel):
    """Format strings over one list element's keys, e.g. ``"{name} ····{mask}"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    detail: str = ""
    when: str = ""
    amount: str = ""


class ChartFormat(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["bar", "line", "doughnut"] = "bar"
    label: str  # the key naming each bar (or, with ``points``, each line)
    value: str = ""  # the numeric key
    unit: str = ""
    # Over time: each element is one line, drawn from its own list ``points`` of {x, y} (e.g. a
    # course's grade history: points: history, x: day, y: score).
    points: str | None = None
    x: str = "day"
    y: str = "score"
    # Several numbers of each element side by side, in order (e.g. a month's income and spending):
    # numeric key -> the series' name.
    series: dict[str, str] = Field(default_factory=dict)


class Render(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    list: str  # the result's key holding the list of elements
    item: ItemFormat | None = None
    chart: ChartFormat | None = None
    total: str | None = None  # sum this numeric key over the list
    total_label: str = "Total"
    count_label: str | None = None  # show the number of elements as a figure
    latest: str | None = None  # a series: show this numeric key of the last element as a figure
    latest_label: str = "Latest"
    empty: str = "Nothing to show."
    limit: int = Field(default=10, ge=1, le=50)
    # Under a chart of a series, list only this many of the latest elements, newest first (the chart
    # already shows the rest).
    list_latest: int | None = Field(default=None, ge=1, le=50)
    # Keys of an element's ISO 8601 start and end: items are put in time order (across the panels a
    # merged view combines) and those whose times overlap are marked as conflicts.
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class Item:
    title: str
    detail: str = ""
    when: str = ""
    amount: str = ""
    source: str = ""  # in a merged view: which integration it came from
    conflict: bool = False  # overlaps another item in time


@dataclass(frozen=True)
class Chart:
    kind: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    unit: str = ""
    series: tuple[tuple[str, tuple[float | None, ...]], ...] = ()  # several lines over ``labels``


@dataclass(frozen=True)
class ViewData:
    """What a panel shows and a briefing section says."""

    items: tuple[Item, ...] = ()
    figures: dict[str, str] = field(default_factory=dict)
    chart: Chart | None = None
    empty: str = "Nothing to show."

    def lines(self) -> list[str]:
        out = [f"{k}: {v}" for k, v in self.figures.items()]
        for it in self.items:
            text = it.title
            if it.detail:
                text += f": {it.detail}"
            if it.amount:
                text += f" ({it.amount})"
            if it.when:
                text = f"{it.when} {text}"
            if it.conflict:
                text += " (conflict)"
            out.append(text)
        if self.chart is not None and not self.items and self.chart.series:
            unit = f" {self.chart.unit}" if self.chart.unit else ""
            for i, label in enumerate(self.chart.labels):
                parts = [f"{name} {_number(v)}{unit}" for name, vs in self.chart.series if (v := vs[i]) is not None]
                out.append(f"{label}: {', '.join(parts)}")
        elif self.chart is not None and not self.items:
            out += [
                f"{label}: {_number(v)}{(' ' + self.chart.unit) if self.chart.unit else ''}"
                for label, v in zip(self.chart.labels, self.chart.values, strict=True)
            ]
        return out


class _Fields(string.Formatter):
    """``str.format`` restricted to plain keys of one element: no attributes, indexes or conversions."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", field_name):
            return "", field_name
        value = kwargs.get(field_name)
        return ("" if value is None else value), field_name

    def format_field(self, value: Any, format_spec: str) -> str:
        return _clip(str(value))

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        return value


_FORMAT = _Fields()


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_TEXT else flat[: MAX_TEXT - 1] + "…"


def _fmt(template: str, element: Mapping[str, Any]) -> str:
    return " ".join(_FORMAT.vformat(template, (), dict(element)).split()) if template else ""


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value is None or isinstance(value, bool) else Decimal(str(value))
    except InvalidOperation:
        return None


def _number(value: float | Decimal, *, whole: bool = False) -> str:
    """Two decimals (amounts), or none for counts (``whole``: every input was an integer)."""
    return f"{Decimal(str(value)).quantize(Decimal('1') if whole else Decimal('0.01')):,}"


def _counts(values: list[Any]) -> bool:
    return bool(values) and all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def render(spec: Render, result: Any) -> ViewData:
    """Turn a tool's structured result into a view; a result of the wrong shape shows as empty."""
    raw = result.get(spec.list) if isinstance(result, Mapping) else None
    elements = [e for e in raw if isinstance(e, Mapping)] if isinstance(raw, list) else []
    figures: dict[str, str] = {}
    if spec.count_label:
        figures[spec.count_label] = str(len(elements))
    if spec.total:
        amounts = [d for e in elements if (d := _decimal(e.get(spec.total))) is not None]
        whole = _counts([v for e in elements if (v := e.get(spec.total)) is not None])  # a day without: no figure
        figures[spec.total_label] = _number(sum(amounts, Decimal(0)), whole=whole)
    if spec.latest and elements and (last := _decimal(elements[-1].get(spec.latest))) is not None:
        figures[spec.latest_label] = _number(last, whole=_counts([elements[-1].get(spec.latest)]))
    listed = elements[-spec.list_latest :][::-1] if spec.list_latest else elements[: spec.limit]
    items = tuple(
        Item(_fmt(f.title, e), _fmt(f.detail, e), _fmt(f.when, e), _fmt(f.amount, e))
        for f in ([spec.item] if spec.item else [])
        for e in listed
    )
    chart = None
    if spec.chart is not None and spec.chart.points:
        chart = _over_time(spec.chart, elements[: spec.limit])
    elif spec.chart is not None and spec.chart.series:
        latest = elements[-spec.limit :]  # in order: the latest
        labels = tuple(_clip(str(e.get(spec.chart.label, ""))) for e in latest)
        series = tuple(
            (name, tuple(float(v) if (v := _decimal(e.get(key))) is not None else None for e in latest))
            for key, name in spec.chart.series.items()
        )
        chart = Chart(spec.chart.kind, labels, (), spec.chart.unit, series) if latest else None
    elif spec.chart is not None:
        pairs = [(_clip(str(e.get(spec.chart.label, ""))), _decimal(e.get(spec.chart.value))) for e in elements]
        kept = [(k, float(v)) for k, v in pairs if v is not None]
        if spec.chart.kind == "line":  # over time: in order, the latest points
            kept = kept[-spec.limit :]
        else:
            kept = sorted(kept, key=lambda p: p[1], reverse=True)[: spec.limit]
        chart = Chart(spec.chart.kind, tuple(k for k, _ in kept), tuple(v for _, v in kept), spec.chart.unit)
    return ViewData(items, figures, chart, spec.empty)


def _instant(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def render_merged(spec: Render, results: Sequence[tuple[str, Any]]) -> ViewData:
    """One view of several integrations' results (``(source label, result)``), each rendered with the
    same ``spec``: in time order by ``spec.start``, overlapping items marked as conflicts."""
    tagged: list[tuple[str, Mapping[str, Any]]] = []
    for label, result in results:
        raw = result.get(spec.list) if isinstance(result, Mapping) else None
        tagged += [(label, e) for e in raw if isinstance(e, Mapping)] if isinstance(raw, list) else []
    spans: list[tuple[datetime, datetime] | None] = []
    for _, e in tagged:
        low, high = _instant(e.get(spec.start or "")), _instant(e.get(spec.end or ""))
        spans.append((low, high) if low and high and high > low else None)
    never = datetime.max.replace(tzinfo=UTC)
    order = sorted(range(len(tagged)), key=lambda i: (span[0] if (span := spans[i]) else never, i))
    clash = {
        i
        for i in range(len(tagged))
        for j in range(len(tagged))
        if i != j and (a := spans[i]) and (b := spans[j]) and a[0] < b[1] and b[0] < a[1]
    }
    single = render(spec, {spec.list: [tagged[i][1] for i in order]})
    fmt = spec.item
    items = (
        tuple(
            Item(
                _fmt(fmt.title, tagged[i][1]),
                _fmt(fmt.detail, tagged[i][1]),
                _fmt(fmt.when, tagged[i][1]),
                _fmt(fmt.amount, tagged[i][1]),
                tagged[i][0],
                i in clash,
            )
            for i in order[: spec.limit]
        )
        if fmt
        else ()
    )
    figures = dict(single.figures)
    if clash:
        figures["Conflicts"] = str(len(clash))
    return ViewData(items, figures, single.chart, spec.empty)


def _over_time(fmt: ChartFormat, elements: list[Mapping[str, Any]]) -> Chart:
    """One line per element over the union of its points' ``x`` values (sorted); gaps are None."""
    lines: list[tuple[str, dict[str, float]]] = []
    for e in elements:
        raw = e.get(fmt.points or "")
        points = {
            _clip(str(p.get(fmt.x))): float(v)
            for p in (raw if isinstance(raw, list) else [])
            if isinstance(p, Mapping) and p.get(fmt.x) is not None and (v := _decimal(p.get(fmt.y))) is not None
        }
        if points:
            lines.append((_clip(str(e.get(fmt.label, ""))), points))
    xs = tuple(sorted({x for _, pts in lines for x in pts}))
    series = tuple((name, tuple(pts.get(x) for x in xs)) for name, pts in lines)
    return Chart("line", xs, (), fmt.unit, series)


GOALS: dict[str, float] = {"steps": 10_000, "active_kcal": 500, "sleep_hours": 7.5}  # when settings say nothing
_GOAL = re.compile(r"^\$goal:([a-z_]{1,32})$")


def resolve_args(args: Mapping[str, Any], today: date, goals: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Replace date placeholders in string arguments: ``$today``, ``$tomorrow``, ``$week_start``
    (six days before today), ``$month_start``, ``$last_month_start``, ``$days_ago:N``, ``$days_ahead:N``; ``_slash``
    writes the date as ``2026/12/02`` (some mail search syntaxes). An argument that is exactly
    ``$goal:<name>`` becomes the owner's goal of that name (settings, else :data:`GOALS`), a number."""
    known = {**GOALS, **(goals or {})}

    def goal(value: str) -> Any:
        found = _GOAL.match(value)
        if found is None or found.group(1) not in known:
            return _PLACEHOLDER.sub(one, value)
        number = known[found.group(1)]
        return int(number) if float(number).is_integer() else number

    def one(match: re.Match[str]) -> str:
        word, slash = match.group(1), match.group(2)
        if word == "today":
            d = today
        elif word == "tomorrow":
            d = today + timedelta(days=1)
        elif word == "week_start":
            d = today - timedelta(days=6)
        elif word == "month_start":
            d = today.replace(day=1)
        elif word == "last_month_start":
            d = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        elif word.startswith("days_ago:"):
            d = today - timedelta(days=int(word.partition(":")[2]))
        else:
            d = today + timedelta(days=int(word.partition(":")[2]))
        return d.strftime("%Y/%m/%d") if slash else d.isoformat()

    return {k: goal(v) if isinstance(v, str) else v for k, v in args.items()}
