"""A merged view: several integrations' panels with one merge key read as one list."""

from __future__ import annotations

from integrations.views import Render, render_merged

T = "2026-12-02T"


def _e(title: str, when: str, start: str, end: str | None) -> dict[str, str | None]:
    return {"title": title, "when": when, "start": start, "end": end}


def test_a_merged_view_orders_several_calendars_by_time_and_marks_conflicts() -> None:
    spec = Render.model_validate(
        {
            "list": "events",
            "item": {"title": "{title}", "when": "{when}"},
            "start": "start",
            "end": "end",
            "count_label": "Events today",
        }
    )
    google = {
        "events": [
            _e("1:1 with Dana", "15:00", f"{T}15:00:00+00:00", f"{T}15:30:00+00:00"),
            _e("Standup", "09:30", f"{T}09:30:00+00:00", f"{T}09:45:00+00:00"),
        ]
    }
    outlook = {
        "events": [
            _e("Budget review", "15:00", f"{T}15:00:00Z", f"{T}15:45:00Z"),
            _e("Kickoff", "10:00", f"{T}10:00:00Z", f"{T}10:30:00Z"),
            _e("<b>odd</b>", "?", "not a time", None),
        ]
    }
    out = render_merged(spec, [("Google Calendar", google), ("Outlook", outlook)])
    assert [(i.title, i.source, i.conflict) for i in out.items] == [
        ("Standup", "Google Calendar", False),
        ("Kickoff", "Outlook", False),
        ("1:1 with Dana", "Google Calendar", True),
        ("Budget review", "Outlook", True),
        ("<b>odd</b>", "Outlook", False),  # no usable time: last, never a conflict
    ]
    assert out.figures == {"Events today": "5", "Conflicts": "2"}
    assert "15:00 1:1 with Dana (conflict)" in out.lines()
    assert render_merged(spec, [("A", {"events": "nope"}), ("B", None)]).items == ()


def test_totals_of_counts_have_no_decimals_and_amounts_keep_two() -> None:
    from integrations.views import render

    steps = Render.model_validate({"list": "days", "total": "steps", "total_label": "Steps", "latest": "steps"})
    out = render(steps, {"days": [{"steps": 9120}, {"steps": 10402}]})
    assert out.figures == {"Steps": "19,522", "Latest": "10,402"}
    money = Render.model_validate({"list": "rows", "total": "value", "total_label": "Value"})
    assert render(money, {"rows": [{"value": 9208.4}, {"value": 100}]}).figures == {"Value": "9,308.40"}
    assert render(money, {"rows": [{"value": "12.5"}]}).figures == {"Value": "12.50"}  # text: an amount


def test_under_a_series_chart_only_the_latest_items_are_listed_newest_first() -> None:
    from integrations.views import render

    week = {"days": [{"date": f"2026-12-0{d}", "steps": 1000 * d} for d in range(1, 8)]}
    spec = {"list": "days", "item": {"title": "{steps}", "when": "{date}"}, "limit": 7}
    spec["chart"] = {"kind": "bar", "label": "date", "series": {"steps": "Steps"}}
    out = render(Render.model_validate(spec | {"list_latest": 2}), week)
    assert [i.when for i in out.items] == ["2026-12-07", "2026-12-06"]
    assert out.chart is not None and len(out.chart.labels) == 7  # the chart keeps the week
    assert len(render(Render.model_validate(spec), week).items) == 7
