"""The demo phone: 90 days of Health Auto Export payloads, dated relative to ``today``.

There is no vendor API to fake (the phone pushes to us), so the demo profile ingests what
:func:`demo_payload` builds, in exactly the shape Health Auto Export posts (API-NOTES §11). The
numbers are deterministic per day offset, so the same demo run twice stores the same samples.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, Final

import httpx

DAYS: Final = 90
ZONE: Final = dt.timezone(dt.timedelta(hours=-8))
SOURCE_PHONE: Final = "iPhone"
SOURCE_WATCH: Final = "Apple Watch"


def _fmt(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %z")


def _night(rng: random.Random, day: dt.date) -> dict[str, Any]:
    start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(23, 0), ZONE) + dt.timedelta(
        minutes=rng.randint(-40, 50)
    )
    deep, rem, core, awake = (
        round(rng.uniform(0.8, 1.5), 2),
        round(rng.uniform(1.2, 2.2), 2),
        round(rng.uniform(3.2, 4.4), 2),
        round(rng.uniform(0.1, 0.6), 2),
    )
    total = round(deep + rem + core, 2)
    end = start + dt.timedelta(hours=total + awake)
    return {
        "date": _fmt(dt.datetime.combine(day, dt.time(0, 0), ZONE)),
        "totalSleep": total,
        "asleep": 0,
        "core": core,
        "deep": deep,
        "rem": rem,
        "awake": awake,
        "inBed": round(total + awake, 2),
        "sleepStart": _fmt(start),
        "sleepEnd": _fmt(end),
        "inBedStart": _fmt(start),
        "inBedEnd": _fmt(end),
        "source": SOURCE_WATCH,
    }


def demo_payload(today: dt.date, days: int = DAYS) -> dict[str, Any]:
    """The last ``days`` days up to yesterday (and today's sleep), as one Health Auto Export body."""
    steps, energy, rhr, hrv, weight, sleep = [], [], [], [], [], []
    workouts: list[dict[str, Any]] = []
    for back in range(days, -1, -1):
        day = today - dt.timedelta(days=back)
        rng = random.Random(f"aegis-health-{back}")  # noqa: S311 - demo numbers, not security
        sleep.append(_night(rng, day))
        if back == 0:
            continue  # today: only last night's sleep so far
        noon = _fmt(dt.datetime.combine(day, dt.time(0, 0), ZONE))
        steps.append({"date": noon, "qty": rng.randint(5200, 13800), "source": SOURCE_PHONE})
        energy.append({"date": noon, "qty": round(rng.uniform(380, 820), 1), "source": SOURCE_WATCH})
        rhr.append({"date": noon, "qty": rng.randint(52, 61), "source": SOURCE_WATCH})
        hrv.append({"date": noon, "qty": round(rng.uniform(38, 72), 1), "source": SOURCE_WATCH})
        if back % 3 == 0:
            weight.append({"date": noon, "qty": round(84.0 - (DAYS - back) * 0.03 + rng.uniform(-0.4, 0.4), 1)})
        if back % 2 == 0:
            start = dt.datetime.combine(day, dt.time(7, 0), ZONE)
            minutes = rng.randint(25, 55)
            workouts.append(
                {
                    "id": f"demo-workout-{back}",
                    "name": "Outdoor Run" if back % 4 == 0 else "Traditional Strength Training",
                    "start": _fmt(start),
                    "end": _fmt(start + dt.timedelta(minutes=minutes)),
                    "duration": minutes * 60,
                    "activeEnergyBurned": {"qty": minutes * 9, "units": "kcal"},
                    "source": SOURCE_WATCH,
                }
            )
    return {
        "data": {
            "metrics": [
                {"name": "step_count", "units": "count", "data": steps},
                {"name": "active_energy", "units": "kcal", "data": energy},
                {"name": "resting_heart_rate", "units": "bpm", "data": rhr},
                {"name": "heart_rate_variability", "units": "ms", "data": hrv},
                {"name": "weight_body_mass", "units": "kg", "data": weight},
                {"name": "sleep_analysis", "units": "hr", "data": sleep},
            ],
            "workouts": workouts,
        }
    }


def demo_credentials() -> dict[str, str]:
    """No vendor credential: the phone authenticates to us with its ingest token."""
    return {}


def demo_transport() -> httpx.MockTransport:
    """Apple Health has no server API; any outbound request in the demo is a bug and answers 404."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": "Apple Health has no server API"})

    return httpx.MockTransport(handler)
