"""The chart contract shared by every panel: a spec rendered by ``templates/macros/chart.html`` and
drawn by ``static/charts.js`` with Chart.js (installed through npm, served by the console itself).

A spec is ``{"kind": "bar" | "line" | "doughnut", "labels": [...], "series": [{"name", "values"}],
"unit": "USD"}``. Values are numbers; Decimals become floats for drawing only (tables show the exact
figures). The macro always renders a table too: the accessible form, and the whole chart when
scripts are off.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import jinja2

Kind = Literal["bar", "line", "doughnut"]
KINDS = ("bar", "line", "doughnut")
# Chart.js's self-contained build, installed by ``npm ci`` at the repository root.
VENDOR = Path(__file__).resolve().parents[1] / "node_modules" / "chart.js" / "dist"


class ChartSpecError(ValueError):
    """A template built a spec the chart script cannot draw (a programming error)."""


def chart_spec(
    kind: Kind,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Any]]],
    unit: str = "",
    *,
    timeline: bool = False,
    stacked: bool = False,
) -> dict[str, Any]:
    """``timeline``: the labels are days or weeks in order (upright bars, one colour per series, lines
    bridging missing days); ``stacked``: the series add up (e.g. the stages of a night's sleep)."""
    if kind not in KINDS:
        raise ChartSpecError(f"unknown chart kind {kind!r}")
    out = []
    for name, values in series:
        if len(values) != len(labels):
            raise ChartSpecError(f"series {name!r} has {len(values)} values for {len(labels)} labels")
        out.append({"name": str(name), "values": [_number(v) for v in values]})
    spec = {"kind": kind, "labels": [str(label) for label in labels], "series": out, "unit": unit}
    return spec | ({"timeline": True} if timeline else {}) | ({"stacked": True} if stacked else {})


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    raise ChartSpecError(f"chart values are numbers, not {type(value).__name__}")


def chart_json(spec: dict[str, Any]) -> str:
    """The spec as JSON for a ``data-chart`` attribute (autoescaping makes it attribute-safe)."""
    return json.dumps(spec, separators=(",", ":"), allow_nan=False)


def register(env: jinja2.Environment) -> None:
    env.globals["chart_spec"] = chart_spec
    env.filters["chart_json"] = chart_json
