"""The health sections of the briefing and the digest, and the home page's health panel: every
health source merged by the core, without double counting.

Every installed integration that declares ``health:`` in its manifest is asked for its summary over
the view's ``start_date``..``end_date`` (the contract of :mod:`integrations.health`); the answers
are merged by that module's rule (the same merge as the health page) and shaped into one list the
ordinary view machinery renders: ``days`` (one element per day with a figure) and ``nights`` (the
days with sleep). A view's ``goal`` argument (``$goal:steps``) is the owner's step goal; it is not
passed to the sources. Each element says which source gave its steps and its sleep. The core never
names a source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from integrations.health import SLEEP_STAGES, Merged, SourceData, merge
from integrations.manifest import Manifest, View
from integrations.views import ChartFormat, ItemFormat, Render

SUMMARY_ARGS: Final = ("start_date", "end_date")
STAGE_WORDS: Final = {"deep_h": "deep", "rem_h": "REM", "light_h": "core/light", "awake_h": "awake"}
WHOLE: Final = ("steps", "active_kcal", "resting_hr", "hrv_ms", "stress", "body_battery")


def _view(view_id: str, title: str, start: str, end: str, order: int, **render: Any) -> View:
    """A view over ``start``..``end``; one listing ``days`` is told the owner's step goal."""
    args = {"start_date": start, "end_date": end} | ({"goal": "$goal:steps"} if render["list"] == "days" else {})
    return View(id=view_id, title=title, tool="health", args=args, render=Render(**render), order=order)


def _sleep(title: str, start: str, empty: str) -> View:
    item = ItemFormat(title="{sleep_h} h asleep", detail="{stages} (from {sleep_from})", when="{date}")
    return _view(
        "sleep", title, start, "$today", 40 if start == "$today" else 41, list="nights", item=item, empty=empty
    )


PANEL = _view(
    "health",
    "Health, every source",
    "$days_ago:6",
    "$today",
    40,
    list="days",
    chart=ChartFormat(kind="bar", label="date", series={"steps": "Steps"}, unit="steps"),
    item=ItemFormat(title="{steps_text}, {sleep_text}", detail="{activity}", when="{date}"),
    total="steps",
    total_label="Steps in the last 7 days",
    empty="No health data for the last 7 days.",
    limit=7,
    list_latest=2,
)
BRIEFING = (
    _sleep("Last night's sleep", "$today", "No sleep received for last night."),
    _view(
        "activity",
        "Yesterday's activity",
        "$days_ago:1",
        "$days_ago:1",
        41,
        list="days",
        item=ItemFormat(title="{steps_text}", detail="{activity}", when="{date}"),
        empty="No activity received for yesterday.",
    ),
)
DIGEST = (
    _view(
        "steps",
        "Steps this week",
        "$week_start",
        "$today",
        40,
        list="days",
        item=ItemFormat(title="{steps_text}", detail="{goal_text}", when="{date}"),
        total="steps",
        total_label="Steps this week",
        empty="No steps this week.",
    ),
    _sleep("Sleep this week", "$week_start", "No sleep received this week."),
)


def summary_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """What each source's summary tool is asked: the date range only."""
    return {k: args[k] for k in SUMMARY_ARGS if k in args}


def _figure(metric: str, value: float) -> float | int:
    return round(value) if metric in WHOLE else round(value, 1)


def _names(titles: Mapping[str, str], chosen: Mapping[str, str], metrics: Sequence[str]) -> str:
    names = {titles.get(chosen[m], chosen[m]) for m in metrics if m in chosen}
    return " + ".join(sorted(names))


def _day(date: str, merged: Merged, titles: Mapping[str, str], goal: Any) -> dict[str, Any]:
    figures = merged.days.get(date, {})
    chosen = merged.chosen.get(date, {})
    out: dict[str, Any] = {"date": date, **{m: _figure(m, v) for m, v in figures.items()}}
    workouts = [w for w in merged.workouts if str(w.get("start", ""))[:10] == date]
    steps = out.get("steps")
    out["steps_text"] = f"{steps:,} steps" if isinstance(steps, int) else "no steps"
    out["sleep_text"] = f"{out['sleep_h']} h asleep" if "sleep_h" in out else "no sleep"
    parts = []
    out["goal_text"] = ""
    if isinstance(steps, int) and isinstance(goal, int | float) and goal > 0:
        out |= {
            "goal": goal,
            "met": steps >= goal,
            "goal_text": f"goal {goal:,}, met: {'yes' if steps >= goal else 'no'}",
        }
        parts.append(out["goal_text"])
    if "active_kcal" in out:
        parts.append(f"active energy {out['active_kcal']:,} kcal")
    if "resting_hr" in out:
        parts.append(f"resting heart rate {out['resting_hr']} bpm")
    if workouts:
        named = [f"{w.get('name', 'Workout')} ({round(float(w.get('minutes') or 0))} min)" for w in workouts[:3]]
        parts.append("workouts: " + ", ".join(named))
    if source := _names(titles, chosen, ("steps", "active_kcal")):
        parts.append(f"from {source}")
    out["activity"] = "; ".join(parts)
    stages = [f"{STAGE_WORDS[m]} {out[m]} h" for m in SLEEP_STAGES if m in STAGE_WORDS and m in out]
    out["stages"] = ", ".join(stages) or "no stages"
    out["sleep_from"] = _names(titles, chosen, SLEEP_STAGES)
    return out


def combine(parts: Sequence[tuple[Manifest, Any]], args: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The sources' answers (``(manifest, summary)``, installed order) merged by
    :func:`integrations.health.merge`: ``days`` in date order and ``nights``, those with sleep."""
    found = []
    for manifest, result in parts:
        if manifest.health is None or not isinstance(result, Mapping):
            continue
        days, workouts = result.get("days"), result.get("workouts")
        found.append(
            SourceData(
                manifest.name,
                manifest.title,
                frozenset(manifest.health.prefer),
                days if isinstance(days, list) else [],
                workouts if isinstance(workouts, list) else [],
            )
        )
    merged = merge(found)
    titles = {s.name: s.title for s in found}
    dates = sorted({*merged.days, *(str(w.get("start", ""))[:10] for w in merged.workouts)})
    first, last = str(args.get("start_date", "")), str(args.get("end_date", "9999"))
    days = [_day(d, merged, titles, args.get("goal")) for d in dates if first <= d <= last]
    return {"days": days, "nights": [d for d in days if "sleep_h" in d]}
