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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_PLACEHOLDER = re.compile(r"\$(today|tomorrow|week_start|month_start|days_ago:\d{1,3}|days_ahead:\d{1,3})(_slash)?")
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
    label: str  # the key naming each bar
    value: str  # the numeric key
    unit: str = ""


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


@dataclass(frozen=True)
class Item:
    title: str
    detail: str = ""
    when: str = ""
    amount: str = ""


@dataclass(frozen=True)
class Chart:
    kind: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    unit: str = ""


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
            out.append(text)
        if self.chart is not None and not self.items:
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


def _number(value: float | Decimal) -> str:
    return f"{Decimal(str(value)).quantize(Decimal('0.01')):,}"


def render(spec: Render, result: Any) -> ViewData:
    """Turn a tool's structured result into a view; a result of the wrong shape shows as empty."""
    raw = result.get(spec.list) if isinstance(result, Mapping) else None
    elements = [e for e in raw if isinstance(e, Mapping)] if isinstance(raw, list) else []
    figures: dict[str, str] = {}
    if spec.count_label:
        figures[spec.count_label] = str(len(elements))
    if spec.total:
        amounts = [d for e in elements if (d := _decimal(e.get(spec.total))) is not None]
        figures[spec.total_label] = _number(sum(amounts, Decimal(0)))
    if spec.latest and elements and (last := _decimal(elements[-1].get(spec.latest))) is not None:
        figures[spec.latest_label] = _number(last)
    items = tuple(
        Item(_fmt(f.title, e), _fmt(f.detail, e), _fmt(f.when, e), _fmt(f.amount, e))
        for f in ([spec.item] if spec.item else [])
        for e in elements[: spec.limit]
    )
    chart = None
    if spec.chart is not None:
        pairs = [(_clip(str(e.get(spec.chart.label, ""))), _decimal(e.get(spec.chart.value))) for e in elements]
        kept = [(k, float(v)) for k, v in pairs if v is not None]
        if spec.chart.kind == "line":  # over time: in order, the latest points
            kept = kept[-spec.limit :]
        else:
            kept = sorted(kept, key=lambda p: p[1], reverse=True)[: spec.limit]
        chart = Chart(spec.chart.kind, tuple(k for k, _ in kept), tuple(v for _, v in kept), spec.chart.unit)
    return ViewData(items, figures, chart, spec.empty)


def resolve_args(args: Mapping[str, Any], today: date) -> dict[str, Any]:
    """Replace date placeholders in string arguments: ``$today``, ``$tomorrow``, ``$week_start``
    (six days before today), ``$month_start``, ``$days_ago:N``, ``$days_ahead:N``; ``_slash``
    writes the date as ``2026/12/02`` (some mail search syntaxes)."""

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
        elif word.startswith("days_ago:"):
            d = today - timedelta(days=int(word.partition(":")[2]))
        else:
            d = today + timedelta(days=int(word.partition(":")[2]))
        return d.strftime("%Y/%m/%d") if slash else d.isoformat()

    return {k: _PLACEHOLDER.sub(one, v) if isinstance(v, str) else v for k, v in args.items()}
