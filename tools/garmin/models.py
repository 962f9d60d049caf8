"""Typed Garmin figures, and the library break that must show as "needs attention"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tools.errors import UpstreamError


class LibraryBroke(UpstreamError):
    """Garmin answered in a shape the adapter does not know (the unofficial library or the API
    changed). Shown to the owner as "needs attention" with this message, never as empty data."""


@dataclass(frozen=True)
class LoginStep:
    """A login's outcome: ``tokens`` (the JSON ``login()`` accepts, for the broker's vault) when
    done, or ``pending`` (the adapter's half-done sign-in, in memory only) when Garmin asks for a
    code first."""

    tokens: str | None = None
    pending: object | None = None


@dataclass(frozen=True)
class GarminDay:
    date: dt.date
    steps: int | None
    active_kcal: float | None
    resting_hr: int | None
    stress: int | None  # the day's average stress level (0-100)
    body_battery: int | None  # the most recent Body Battery value (0-100)
    sleep_h: float | None
    deep_h: float | None
    light_h: float | None
    rem_h: float | None
    awake_h: float | None
    hrv_ms: float | None  # last night's average HRV


@dataclass(frozen=True)
class GarminActivity:
    activity_id: str
    name: str
    kind: str
    start: dt.datetime  # UTC
    minutes: float | None
    kcal: float | None
    km: float | None
    average_hr: float | None
