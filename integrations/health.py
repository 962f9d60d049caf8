"""Health figures from several sources, merged without double counting.

Each health integration declares in its manifest a READ tool (``health.tool``) that answers for a
date range with the shared summary contract::

    {"days": [{"date": "YYYY-MM-DD", <metric>: number, ...}], "workouts": [{"start": ISO 8601,
      "name", "minutes"?, "kcal"?, "km"?}]}

``<metric>`` is one of :data:`METRICS`; a figure the source does not have is left out, never zero.

The precedence rule, per day and per metric:

1. a source that lists the metric in its manifest's ``health.prefer`` wins when it has a figure that
   day (a watch worn all night is the better sleep, resting heart rate and HRV record; the phone
   is where a smart scale's weight lands);
2. otherwise, for the additive metrics (:data:`ADDITIVE`: steps, active energy) the larger of the
   sources' figures: a phone and a watch count the same walk, so adding them would double it, and
   taking the larger never undercounts a day the watch was off;
3. otherwise, the first installed source with a figure.

Workouts: two workouts from different sources that start within :data:`SAME_WORKOUT` of each other
are the same workout (the watch recorded it and synced it to the phone); the preferred source's
copy is kept (a source preferring ``workouts``), else the first installed one's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

METRICS: Final = (
    "steps",
    "active_kcal",
    "resting_hr",
    "hrv_ms",
    "weight_kg",
    "sleep_h",
    "deep_h",
    "rem_h",
    "light_h",
    "awake_h",
    "stress",
    "body_battery",
)
PREFERABLE: Final = (*METRICS, "sleep", "workouts")  # "sleep": every sleep stage at once
SLEEP_STAGES: Final = ("sleep_h", "deep_h", "rem_h", "light_h", "awake_h")
ADDITIVE: Final = frozenset({"steps", "active_kcal"})
SAME_WORKOUT: Final = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class SourceData:
    """One source's answer: its integration, its title, what it prefers, and the contract's data."""

    name: str
    title: str
    prefer: frozenset[str]
    days: Sequence[Mapping[str, Any]] = ()
    workouts: Sequence[Mapping[str, Any]] = ()


@dataclass
class Merged:
    days: dict[str, dict[str, float]] = field(default_factory=dict)  # date -> metric -> value
    chosen: dict[str, dict[str, str]] = field(default_factory=dict)  # date -> metric -> source name
    workouts: list[dict[str, Any]] = field(default_factory=list)


def _prefers(source: SourceData, metric: str) -> bool:
    return metric in source.prefer or (metric in SLEEP_STAGES and "sleep" in source.prefer)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def merge(sources: Sequence[SourceData]) -> Merged:
    """Merge the sources (in installed order) by the rule above."""
    per: dict[str, dict[str, list[tuple[SourceData, float]]]] = {}
    for src in sources:
        for day in src.days:
            date = str(day.get("date", ""))[:10]
            for metric in METRICS:
                value = _number(day.get(metric))
                if value is not None:
                    per.setdefault(date, {}).setdefault(metric, []).append((src, value))
    out = Merged()
    for date in sorted(per):
        for metric, found in per[date].items():
            preferred = [f for f in found if _prefers(f[0], metric)]
            if metric in SLEEP_STAGES:  # the stages of one night come from one source
                night = [f for f in found if _prefers(f[0], "sleep")]
                preferred = night or preferred
            if preferred:
                src, value = preferred[0]
            elif metric in ADDITIVE:
                src, value = max(found, key=lambda f: f[1])
            else:
                src, value = found[0]
            out.days.setdefault(date, {})[metric] = value
            out.chosen.setdefault(date, {})[metric] = src.name
    out.workouts = _workouts(sources)
    return out


def _start(w: Mapping[str, Any]) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(str(w.get("start", "")))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _workouts(sources: Sequence[SourceData]) -> list[dict[str, Any]]:
    ordered = sorted(sources, key=lambda s: "workouts" not in s.prefer)  # preferred first, stable
    kept: list[tuple[dt.datetime, dict[str, Any]]] = []
    for src in ordered:
        for w in src.workouts:
            start = _start(w)
            if start is None:
                continue
            if any(abs(start - other) <= SAME_WORKOUT and seen["source"] != src.name for other, seen in kept):
                continue
            kept.append((start, {**w, "source": src.name, "source_title": src.title}))
    return [w for _, w in sorted(kept, key=lambda k: k[0])]
