"""One normalised figure set per day (and the workouts) over a range: what the console's health page
merges with other health sources. The keys are the shared health-summary contract described in
``web/health.py``: a missing figure is left out, never zero."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Final

from mcp_servers.applehealth.store import HealthStore

# summary key -> (stored metric, summed per day (True) or averaged (False))
DAILY: Final = {
    "steps": ("step_count", True),
    "active_kcal": ("active_energy", True),
    "resting_hr": ("resting_heart_rate", False),
    "hrv_ms": ("heart_rate_variability", False),
    "weight_kg": ("weight_body_mass", False),
}
SLEEP: Final = {"sleep_h": "totalSleep", "deep_h": "deep", "rem_h": "rem", "light_h": "core", "awake_h": "awake"}


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


async def _means(store: HealthStore, metric: str, first: dt.date, last: dt.date) -> dict[dt.date, float]:
    per: dict[dt.date, list[float]] = defaultdict(list)
    for s in await store.samples(metric, first, last):
        qty = _num(s.values.get("qty", s.values.get("Avg")))
        if qty is not None:
            per[s.day].append(qty)
    return {d: sum(v) / len(v) for d, v in per.items()}


async def summary(store: HealthStore, first: dt.date, last: dt.date) -> dict[str, Any]:
    days: dict[dt.date, dict[str, Any]] = defaultdict(dict)
    for key, (metric, summed) in DAILY.items():
        figures = await (store.daily_totals if summed else lambda m, a, b: _means(store, m, a, b))(metric, first, last)
        for day, value in figures.items():
            days[day][key] = round(value, 1)
    for night in await store.samples("sleep_analysis", first, last):
        v = night.values
        total = _num(v.get("totalSleep")) or _num(v.get("asleep"))
        if total:
            days[night.day].update(
                {k: round(_num(v.get(src)) or 0.0, 2) for k, src in SLEEP.items()} | {"sleep_h": round(total, 2)}
            )
    workouts = []
    for w in await store.samples("workout", first, last):
        v = w.values
        energy, distance = v.get("activeEnergyBurned"), v.get("distance")
        duration = _num(v.get("duration"))
        workouts.append(
            {
                "start": w.start.isoformat(),
                "name": str(v.get("name", "Workout"))[:80],
                "minutes": round(duration / 60, 1) if duration else None,
                "kcal": _num(energy.get("qty")) if isinstance(energy, dict) else _num(energy),
                "km": _num(distance.get("qty")) if isinstance(distance, dict) else _num(distance),
            }
        )
    return {
        "days": [{"date": d.isoformat(), **f} for d, f in sorted(days.items())],
        "workouts": workouts,
    }
