"""The health page's data: every health source's summary for a period, merged by the rule in
:mod:`integrations.health`, shaped into chart series (daily for a week or a month, weekly averages
for a year). Each source is read through the gateway (:meth:`web.data.ToolAccess.read`), so every
read is audited and labelled; a source that fails says so and never blanks the others."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

from integrations.health import Merged, SourceData, merge
from web.data import ConsoleData
from web.panels import plain

PERIODS: Final = {"week": 7, "month": 30, "year": 365}
SERIES: Final = {  # metric -> (title, unit, chart kind)
    "steps": ("Steps", "steps", "bar"),
    "active_kcal": ("Active energy", "kcal", "bar"),
    "resting_hr": ("Resting heart rate", "bpm", "line"),
    "hrv_ms": ("Heart rate variability", "ms", "line"),
    "weight_kg": ("Weight", "kg", "line"),
}
STAGES: Final = (("deep_h", "Deep"), ("rem_h", "REM"), ("light_h", "Core / light"), ("awake_h", "Awake"))


@dataclass
class SourceState:
    name: str
    title: str
    state: str  # "ok", "not_connected", "error"
    message: str | None = None


@dataclass
class HealthView:
    period: str
    start: dt.date
    end: dt.date
    labels: list[str] = field(default_factory=list)
    series: dict[str, list[float | None]] = field(default_factory=dict)
    sources: list[SourceState] = field(default_factory=list)
    workouts: list[dict[str, Any]] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        figures = (v for key, values in self.series.items() if key != "workout_min" for v in values)
        return any(v is not None for v in figures) or bool(self.workouts)


def _buckets(start: dt.date, end: dt.date, weekly: bool) -> list[tuple[str, list[str]]]:
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    if not weekly:
        return [(d.strftime("%a %d %b") if len(days) <= 7 else d.strftime("%d %b"), [d.isoformat()]) for d in days]
    out: dict[str, list[str]] = {}
    for d in days:
        monday = d - dt.timedelta(days=d.weekday())
        out.setdefault(monday.strftime("%d %b %y"), []).append(d.isoformat())
    return list(out.items())


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _series(merged: Merged, buckets: list[tuple[str, list[str]]], metric: str) -> list[float | None]:
    return [_mean([merged.days[d][metric] for d in dates if metric in merged.days.get(d, {})]) for _, dates in buckets]


def _minutes(workouts: list[dict[str, Any]], buckets: list[tuple[str, list[str]]]) -> list[float | None]:
    per: dict[str, float] = {}
    for w in workouts:
        day = str(w.get("start", ""))[:10]
        per[day] = per.get(day, 0.0) + float(w.get("minutes") or 0)
    return [round(sum(per.get(d, 0.0) for d in dates), 1) for _, dates in buckets]


def _figures(view: HealthView, merged: Merged) -> list[tuple[str, str]]:
    def avg(metric: str) -> float | None:
        return _mean([f[metric] for f in merged.days.values() if metric in f])

    out = []
    if (steps := avg("steps")) is not None:
        out.append(("Steps a day", f"{steps:,.0f}"))
    if (sleep := avg("sleep_h")) is not None:
        out.append(("Sleep a night", f"{sleep:.1f} h"))
    if (rhr := avg("resting_hr")) is not None:
        out.append(("Resting heart rate", f"{rhr:.0f} bpm"))
    weights = [merged.days[d]["weight_kg"] for d in sorted(merged.days) if "weight_kg" in merged.days[d]]
    if weights:
        out.append(("Weight, latest", f"{weights[-1]:.1f} kg"))
    out.append(("Workouts", str(len(view.workouts))))
    return out


async def load_health(data: ConsoleData, period: str) -> HealthView:
    period = period if period in PERIODS else "week"
    end = data.now().date()
    start = end - dt.timedelta(days=PERIODS[period] - 1)
    view = HealthView(period, start, end)
    found: list[SourceData] = []
    for manifest in data.catalog:
        if manifest.health is None:
            continue
        if data.tools is None or not await data.connected(manifest):
            view.sources.append(SourceState(manifest.name, manifest.title, "not_connected"))
            continue
        args = {"start_date": start.isoformat(), "end_date": end.isoformat()}
        result = await data.tools.read(manifest.health.tool, args)
        content = result.content if result.ok and isinstance(result.content, dict) else None
        if content is None:
            message = (result.error or "the source answered in an unexpected shape")[:300]
            view.sources.append(SourceState(manifest.name, manifest.title, "error", message))
            continue
        view.sources.append(SourceState(manifest.name, manifest.title, "ok"))
        days, workouts = content.get("days", []), content.get("workouts", [])
        prefer = frozenset(manifest.health.prefer)
        found.append(SourceData(manifest.name, manifest.title, prefer, days, workouts))
    merged = merge(found)
    buckets = _buckets(start, end, weekly=period == "year")
    view.labels = [label for label, _ in buckets]
    for metric in (*SERIES, *(s for s, _ in STAGES), "sleep_h"):
        view.series[metric] = _series(merged, buckets, metric)
    view.workouts = [
        {**w, "name": plain(str(w.get("name", "Workout")), 80), "day": str(w.get("start", ""))[:10]}
        for w in merged.workouts
    ]
    view.series["workout_min"] = _minutes(view.workouts, buckets)
    view.figures = _figures(view, merged)
    return view
