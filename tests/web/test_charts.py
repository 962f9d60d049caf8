"""The chart contract: specs any panel can build, rendered by the macro as a chart and a table."""

from __future__ import annotations

import json
from decimal import Decimal
from html import unescape

import jinja2
import pytest

from web import charts
from web.state import TEMPLATES


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    charts.register(env)
    return env


def test_spec_turns_decimals_into_numbers_and_checks_shape() -> None:
    spec = charts.chart_spec("line", ["Mon", "Tue"], [("Sleep", [Decimal("7.5"), None])], "h")
    assert spec == {"kind": "line", "labels": ["Mon", "Tue"], "series": [{"name": "Sleep", "values": [7.5, None]}],
                    "unit": "h"}  # fmt: skip
    with pytest.raises(charts.ChartSpecError, match="2 labels"):
        charts.chart_spec("bar", ["a", "b"], [("x", [1])])
    with pytest.raises(charts.ChartSpecError, match="unknown chart kind"):
        charts.chart_spec("pie", ["a"], [("x", [1])])  # type: ignore[arg-type]
    with pytest.raises(charts.ChartSpecError, match="numbers"):
        charts.chart_spec("bar", ["a"], [("x", ["1"])])


def test_macro_escapes_the_spec_and_renders_the_same_figures_as_a_table() -> None:
    template = _env().from_string(
        '{% from "macros/chart.html" import chart with context %}'
        '{{ chart(chart_spec("doughnut", labels, [("Spent", values)], "USD"), "Spending", x_title="Category") }}'
    )
    out = template.render(labels=['"><script>alert(1)</script>', "Food"], values=[Decimal("1234.5"), 2])
    assert "<script>" not in out
    attr = out.split('data-chart="', 1)[1].split('"', 1)[0]
    spec = json.loads(unescape(attr))
    assert spec["labels"][0] == '"><script>alert(1)</script>' and spec["series"][0]["values"] == [1234.5, 2.0]
    assert '<th scope="row">&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</th><td class="num">1,234.50</td>' in out
    assert '<canvas role="img" aria-label="Spending">' in out and "Spent (USD)" in out
