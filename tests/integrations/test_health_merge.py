"""Health sources merged without double counting (integrations.health): the precedence rule per metric."""

from __future__ import annotations

import pytest

from integrations import Catalog
from integrations.health import SourceData, merge
from integrations.manifest import HealthSource

PHONE = SourceData(
    "phone",
    "Phone",
    frozenset({"weight_kg"}),
    days=[
        {"date": "2026-12-01", "steps": 9000, "active_kcal": 500, "resting_hr": 58, "weight_kg": 81.2, "sleep_h": 6.0},
        {"date": "2026-12-02", "steps": 4000, "sleep_h": 7.5, "deep_h": 1.1, "rem_h": 1.5},
    ],
    workouts=[{"start": "2026-12-01T07:00:00+00:00", "name": "Run (phone copy)", "minutes": 30}],
)
WATCH = SourceData(
    "watch",
    "Watch",
    frozenset({"sleep", "resting_hr", "workouts"}),
    days=[
        {"date": "2026-12-01", "steps": 9400, "active_kcal": 450, "resting_hr": 55, "sleep_h": 6.5, "deep_h": 1.0},
        {"date": "2026-12-03", "steps": 3000},
    ],
    workouts=[
        {"start": "2026-12-01T07:04:00+00:00", "name": "Run", "minutes": 31},
        {"start": "2026-12-01T18:00:00+00:00", "name": "Swim", "minutes": 40},
    ],
)


def test_steps_and_energy_take_the_larger_never_the_sum() -> None:
    m = merge([PHONE, WATCH])
    assert m.days["2026-12-01"]["steps"] == 9400 and m.chosen["2026-12-01"]["steps"] == "watch"
    assert m.days["2026-12-01"]["active_kcal"] == 500 and m.chosen["2026-12-01"]["active_kcal"] == "phone"
    assert m.days["2026-12-02"]["steps"] == 4000 and m.days["2026-12-03"]["steps"] == 3000


def test_a_preferred_source_wins_and_a_night_comes_from_one_source() -> None:
    m = merge([PHONE, WATCH])
    assert m.days["2026-12-01"]["resting_hr"] == 55  # the watch is preferred for resting heart rate
    assert m.days["2026-12-01"]["weight_kg"] == 81.2  # only the phone weighs
    night = m.chosen["2026-12-01"]
    assert night["sleep_h"] == night["deep_h"] == "watch" and m.days["2026-12-01"]["sleep_h"] == 6.5
    assert m.chosen["2026-12-02"]["sleep_h"] == "phone"  # the watch was off that night: the phone's night


def test_one_workout_recorded_twice_is_kept_once_from_the_preferred_source() -> None:
    m = merge([PHONE, WATCH])
    assert [(w["name"], w["source"]) for w in m.workouts] == [("Run", "watch"), ("Swim", "watch")]
    assert [w["name"] for w in merge([PHONE]).workouts] == ["Run (phone copy)"]


def test_order_does_not_change_the_preferred_figures() -> None:
    a, b = merge([PHONE, WATCH]), merge([WATCH, PHONE])
    assert a.days == b.days and a.workouts == b.workouts


def test_bad_figures_are_ignored_and_unknown_preferences_refused() -> None:
    odd = SourceData("odd", "Odd", frozenset(), days=[{"date": "2026-12-01", "steps": "many", "resting_hr": True}])
    assert merge([odd]).days == {}
    with pytest.raises(ValueError, match="unknown health metrics"):
        HealthSource(tool="x.summary", prefer=("steps", "mood"))


def test_every_installed_health_source_names_a_read_tool() -> None:
    sources = [m for m in Catalog.load() if m.health is not None]
    assert sources
    for m in sources:
        assert m.health is not None and m.tools[m.health.tool].cls == "READ"
        assert m.tools[m.health.tool].entry.get("data_classes") == ["health"]
        assert m.tools[m.health.tool].entry["result"]["conf"] == "SECRET"


def test_goal_arguments_come_from_the_owners_settings() -> None:
    from datetime import date

    from integrations.views import resolve_args

    args = {"start_date": "$days_ago:1", "goal": "$goal:steps", "note": "$goal:unknown"}
    out = resolve_args(args, date(2026, 12, 2), {"steps": 8000})
    assert out == {"start_date": "2026-12-01", "goal": 8000, "note": "$goal:unknown"}
    assert resolve_args({"goal": "$goal:steps"}, date(2026, 12, 2))["goal"] == 10_000  # the default
    assert resolve_args({"h": "$goal:sleep_hours"}, date(2026, 12, 2), {"sleep_hours": 7.5})["h"] == 7.5
