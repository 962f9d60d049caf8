"""Garmin's raw answers (as ``garminconnect`` returns them) into typed figures.

A field Garmin leaves null is a missing figure. A field of the wrong type, or an answer without the
keys every such answer has, is a :class:`LibraryBroke`: the unofficial API or library changed, and
the owner must see that, not a day of zeros.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tools.garmin.models import GarminActivity, GarminDay, LibraryBroke


def _broke(what: str) -> LibraryBroke:
    message = f"Garmin answered in an unknown shape ({what}); the library may need an update"
    return LibraryBroke(message, integration="garmin")


def _num(doc: dict[str, Any], key: str, where: str) -> float | None:
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _broke(f"{where}.{key} is {type(value).__name__}")
    return float(value)


def _int(doc: dict[str, Any], key: str, where: str) -> int | None:
    value = _num(doc, key, where)
    return None if value is None else round(value)


def _hours(doc: dict[str, Any], key: str) -> float | None:
    seconds = _num(doc, key, "sleep.dailySleepDTO")
    return None if seconds is None else round(seconds / 3600, 2)


def parse_day(date: dt.date, raw: dict[str, Any]) -> GarminDay:
    summary, sleep, hrv = raw.get("summary"), raw.get("sleep"), raw.get("hrv")
    if not isinstance(summary, dict) or "totalSteps" not in summary:
        raise _broke("the daily summary has no totalSteps")
    night = sleep.get("dailySleepDTO") if isinstance(sleep, dict) else None
    if sleep not in (None, {}) and not isinstance(night, dict):
        raise _broke("sleep has no dailySleepDTO")
    night = night or {}
    hrv_summary = hrv.get("hrvSummary") if isinstance(hrv, dict) else None
    if hrv is not None and hrv != {} and not isinstance(hrv_summary, dict):
        raise _broke("HRV has no hrvSummary")
    return GarminDay(
        date=date,
        steps=_int(summary, "totalSteps", "summary"),
        active_kcal=_num(summary, "activeKilocalories", "summary"),
        resting_hr=_int(summary, "restingHeartRate", "summary"),
        stress=_int(summary, "averageStressLevel", "summary"),
        body_battery=_int(summary, "bodyBatteryMostRecentValue", "summary"),
        sleep_h=_hours(night, "sleepTimeSeconds"),
        deep_h=_hours(night, "deepSleepSeconds"),
        light_h=_hours(night, "lightSleepSeconds"),
        rem_h=_hours(night, "remSleepSeconds"),
        awake_h=_hours(night, "awakeSleepSeconds"),
        hrv_ms=_num(hrv_summary or {}, "lastNightAvg", "hrv.hrvSummary"),
    )


def parse_activity(raw: Any) -> GarminActivity:
    if not isinstance(raw, dict) or "activityId" not in raw or "startTimeGMT" not in raw:
        raise _broke("an activity has no activityId or startTimeGMT")
    try:
        start = dt.datetime.strptime(str(raw["startTimeGMT"]), "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    except ValueError:
        raise _broke("an activity's startTimeGMT is not 'YYYY-MM-DD HH:MM:SS'") from None
    kind = raw.get("activityType")
    duration, distance = _num(raw, "duration", "activity"), _num(raw, "distance", "activity")
    return GarminActivity(
        activity_id=str(raw["activityId"]),
        name=str(raw.get("activityName") or "Activity")[:120],
        kind=str(kind.get("typeKey", "other")) if isinstance(kind, dict) else "other",
        start=start,
        minutes=None if duration is None else round(duration / 60, 1),
        kcal=_num(raw, "calories", "activity"),
        km=None if distance is None else round(distance / 1000, 2),
        average_hr=_num(raw, "averageHR", "activity"),
    )
