"""Parse what the phone pushes into :class:`~tools.applehealth.models.Sample` objects.

Two shapes are accepted (API-NOTES §11):

* **Health Auto Export** (REST automation, JSON, "Export Version 2")::

    {"data": {"metrics": [{"name": "step_count", "units": "count",
                           "data": [{"date": "2026-11-20 14:30:00 -0800", "qty": 8500, "source": "iPhone"}]}],
              "workouts": [{"name": "Outdoor Run", "start": "...", "end": "...", "duration": 1800, ...}]}}

* **The Aegis shape**, for a hand-built iOS Shortcut::

    {"samples": [{"metric": "step_count", "time": "2026-11-20T14:30:00-08:00", "value": 8500,
                  "unit": "count", "source": "iPhone"}]}

Every metric name is kept, known or not. The whole payload is checked before anything is returned:
one bad point rejects the batch with a :class:`PayloadError` naming where it is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Final

from tools.applehealth.models import PayloadError, Sample, Value

MAX_SAMPLES: Final = 50_000
MAX_TEXT: Final = 200
HAE_DATE: Final = "%Y-%m-%d %H:%M:%S %z"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_UNITS = re.compile(r"^[\w%/.·°*^ -]{0,32}$")
NUMERIC: Final = frozenset(
    {
        "qty",
        "Min",
        "Avg",
        "Max",
        "systolic",
        "diastolic",
        "totalSleep",
        "asleep",
        "core",
        "deep",
        "rem",
        "awake",
        "inBed",
    }
)


def parse_payload(body: Any) -> list[Sample]:
    """Either shape, decided by its top-level key."""
    if not isinstance(body, Mapping):
        raise PayloadError("$", "the body must be a JSON object")
    if "data" in body:
        samples = _parse_hae(body["data"])
    elif "samples" in body:
        samples = _parse_simple(body["samples"])
    else:
        raise PayloadError("$", 'expected a "data" object (Health Auto Export) or a "samples" list')
    if len(samples) > MAX_SAMPLES:
        raise PayloadError("$", f"at most {MAX_SAMPLES} samples per request")
    return samples


def parse_hae_date(text: Any, path: str) -> dt.datetime:
    if not isinstance(text, str):
        raise PayloadError(path, "a date must be a string like 2026-11-20 14:30:00 -0800")
    try:
        return dt.datetime.strptime(text, HAE_DATE)  # noqa: DTZ007 - HAE_DATE ends in %z
    except ValueError:
        try:  # a few exports write ISO 8601; still demand the offset
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise PayloadError(path, "not a date like 2026-11-20 14:30:00 -0800") from None
        if parsed.tzinfo is None:
            raise PayloadError(path, "the date has no UTC offset") from None
        return parsed


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(path, "must be a number")
    if value != value or value in (float("inf"), float("-inf")):
        raise PayloadError(path, "must be a finite number")
    return float(value)


def _text(value: Any, path: str, *, default: str | None = None) -> str:
    if value is None and default is not None:
        return default
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise PayloadError(path, f"must be a non-empty string of at most {MAX_TEXT} characters")
    return value.strip()


def _name(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise PayloadError(path, "a metric name is snake_case letters, digits and _ (at most 64)")
    return value


def _units(value: Any, path: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not _UNITS.match(value):
        raise PayloadError(path, "units must be a short string")
    return value


def _values(point: Mapping[str, Any], path: str, skip: frozenset[str]) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for key, value in point.items():
        if key in skip:
            continue
        where = f"{path}.{key}"
        if not isinstance(key, str) or len(key) > 64:
            raise PayloadError(path, "field names are short strings")
        if key in NUMERIC:
            out[key] = _number(value, where)
        elif key.endswith(("Start", "End", "start", "end")) and key != "start":
            out[key] = parse_hae_date(value, where).isoformat()
        elif isinstance(value, Mapping) and set(value) <= {"qty", "units"} and "qty" in value:
            out[key] = _number(value["qty"], f"{where}.qty")
            out[f"{key}_units"] = _units(value.get("units"), f"{where}.units")
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int | float):
            out[key] = _number(value, where)
        elif isinstance(value, str):
            out[key] = _text(value, where)
        else:
            continue  # nested detail (heart-rate series, route points): not kept
    return out


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise PayloadError(path, "must be a list")
    return value


def _parse_hae(data: Any) -> list[Sample]:
    if not isinstance(data, Mapping):
        raise PayloadError("data", "must be an object with metrics and/or workouts")
    samples: list[Sample] = []
    for i, metric in enumerate(_list(data.get("metrics", []), "data.metrics")):
        path = f"data.metrics[{i}]"
        if not isinstance(metric, Mapping):
            raise PayloadError(path, "must be an object")
        name = _name(metric.get("name"), f"{path}.name")
        units = _units(metric.get("units"), f"{path}.units")
        for j, point in enumerate(_list(metric.get("data"), f"{path}.data")):
            where = f"{path}.data[{j}]"
            if not isinstance(point, Mapping):
                raise PayloadError(where, "must be an object")
            start = parse_hae_date(point.get("date"), f"{where}.date")
            source = _text(point.get("source"), f"{where}.source", default="unknown")
            values = _values(point, where, frozenset({"date", "source"}))
            if not values:
                raise PayloadError(where, "holds no value")
            samples.append(Sample(name, start, units, source, values))
    for i, workout in enumerate(_list(data.get("workouts", []), "data.workouts")):
        path = f"data.workouts[{i}]"
        if not isinstance(workout, Mapping):
            raise PayloadError(path, "must be an object")
        start = parse_hae_date(workout.get("start"), f"{path}.start")
        source = _text(workout.get("source"), f"{path}.source", default="unknown")
        values = _values(workout, path, frozenset({"start", "source", "id"}))
        values["name"] = _text(workout.get("name"), f"{path}.name")
        samples.append(Sample("workout", start, "", source, values))
    return samples


def _parse_simple(items: Any) -> list[Sample]:
    samples: list[Sample] = []
    for i, item in enumerate(_list(items, "samples")):
        path = f"samples[{i}]"
        if not isinstance(item, Mapping):
            raise PayloadError(path, "must be an object")
        unknown = set(item) - {"metric", "time", "value", "unit", "source"}
        if unknown:
            raise PayloadError(path, f"unknown fields: {', '.join(sorted(map(str, unknown)))}")
        name = _name(item.get("metric"), f"{path}.metric")
        time = item.get("time")
        if not isinstance(time, str):
            raise PayloadError(f"{path}.time", "must be an ISO 8601 string with a UTC offset")
        try:
            start = dt.datetime.fromisoformat(time)
        except ValueError:
            raise PayloadError(f"{path}.time", "not an ISO 8601 date-time") from None
        if start.tzinfo is None:
            raise PayloadError(f"{path}.time", "the time has no UTC offset")
        value = _number(item.get("value"), f"{path}.value")
        units = _units(item.get("unit"), f"{path}.unit")
        source = _text(item.get("source"), f"{path}.source", default="shortcut")
        samples.append(Sample(name, start, units, source, {"qty": value}))
    return samples
