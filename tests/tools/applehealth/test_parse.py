from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tools.applehealth.demo import DAYS, demo_payload
from tools.applehealth.models import PayloadError
from tools.applehealth.parse import parse_payload

HAE: dict[str, Any] = {
    "data": {
        "metrics": [
            {
                "name": "step_count",
                "units": "count",
                "data": [{"date": "2026-11-20 14:30:00 -0800", "qty": 8500, "source": "iPhone"}],
            },
            {
                "name": "heart_rate",
                "units": "bpm",
                "data": [{"date": "2026-11-20 14:30:00 -0800", "Min": 65, "Avg": 72, "Max": 85}],
            },
            {
                "name": "blood_pressure",
                "units": "mmHg",
                "data": [{"date": "2026-11-20 08:00:00 -0800", "systolic": 120, "diastolic": 80}],
            },
            {"name": "made_up_metric", "units": "zz", "data": [{"date": "2026-11-20 08:00:00 -0800", "qty": 3}]},
        ],
        "workouts": [
            {
                "id": "w1",
                "name": "Outdoor Run",
                "start": "2026-11-20 07:00:00 -0800",
                "end": "2026-11-20 07:30:00 -0800",
                "duration": 1800,
                "distance": {"qty": 5.0, "units": "km"},
                "activeEnergyBurned": {"qty": 350, "units": "kcal"},
            }
        ],
    }
}


def test_health_auto_export_shape_with_special_and_unknown_metrics() -> None:
    samples = {s.metric: s for s in parse_payload(HAE)}
    assert set(samples) == {"step_count", "heart_rate", "blood_pressure", "made_up_metric", "workout"}
    steps = samples["step_count"]
    assert steps.values == {"qty": 8500.0} and steps.source == "iPhone" and steps.units == "count"
    assert steps.start == dt.datetime(2026, 11, 20, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=-8)))
    assert samples["heart_rate"].values == {"Min": 65.0, "Avg": 72.0, "Max": 85.0}
    assert samples["heart_rate"].source == "unknown"
    assert samples["blood_pressure"].values == {"systolic": 120.0, "diastolic": 80.0}
    run = samples["workout"].values
    assert run["name"] == "Outdoor Run" and run["distance"] == 5.0 and run["distance_units"] == "km"
    assert run["activeEnergyBurned"] == 350.0 and run["end"] == "2026-11-20T07:30:00-08:00"


def test_the_small_shortcut_shape() -> None:
    body = {"samples": [{"metric": "step_count", "time": "2026-11-20T14:30:00-08:00", "value": 812, "unit": "count"}]}
    (sample,) = parse_payload(body)
    assert sample.metric == "step_count" and sample.values == {"qty": 812.0} and sample.source == "shortcut"
    assert sample.start.utcoffset() == dt.timedelta(hours=-8)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ([], "$"),
        ({"other": 1}, "$"),
        ({"data": {"metrics": {}}}, "data.metrics"),
        ({"data": {"metrics": [{"name": "Step Count", "data": []}]}}, "data.metrics[0].name"),
        (
            {"data": {"metrics": [{"name": "step_count", "data": [{"date": "20/11/2026", "qty": 1}]}]}},
            "data.metrics[0].data[0].date",
        ),
        (
            {"data": {"metrics": [{"name": "step_count", "data": [{"date": "2026-11-20 14:30:00", "qty": 1}]}]}},
            "data.metrics[0].data[0].date",
        ),
        (
            {
                "data": {
                    "metrics": [{"name": "step_count", "data": [{"date": "2026-11-20 14:30:00 -0800", "qty": "9"}]}]
                }
            },
            "data.metrics[0].data[0].qty",
        ),
        (
            {
                "data": {
                    "metrics": [{"name": "step_count", "data": [{"date": "2026-11-20 14:30:00 -0800", "qty": True}]}]
                }
            },
            "data.metrics[0].data[0].qty",
        ),
        (
            {"data": {"metrics": [{"name": "step_count", "data": [{"date": "2026-11-20 14:30:00 -0800"}]}]}},
            "data.metrics[0].data[0]",
        ),
        ({"data": {"workouts": [{"name": "Run", "start": 5}]}}, "data.workouts[0].start"),
        ({"samples": [{"metric": "step_count", "time": "2026-11-20T14:30:00", "value": 1}]}, "samples[0].time"),
        ({"samples": [{"metric": "step_count", "time": "2026-11-20T14:30:00Z", "value": None}]}, "samples[0].value"),
        ({"samples": [{"metric": "step_count", "time": "2026-11-20T14:30:00Z", "value": 1, "x": 2}]}, "samples[0]"),
    ],
)
def test_bad_input_is_refused_saying_where(body: Any, where: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_payload(body)
    assert caught.value.path == where
    assert caught.value.status == 400


def test_one_bad_point_rejects_the_whole_batch() -> None:
    body = {
        "data": {
            "metrics": [
                {
                    "name": "step_count",
                    "data": [{"date": "2026-11-20 14:30:00 -0800", "qty": 1}, {"date": "x", "qty": 2}],
                }
            ]
        }
    }
    with pytest.raises(PayloadError):
        parse_payload(body)


def test_the_demo_phone_covers_90_days_up_to_today() -> None:
    today = dt.date(2026, 12, 2)
    samples = parse_payload(demo_payload(today))
    steps = sorted(s.start.date() for s in samples if s.metric == "step_count")
    assert (
        len(steps) == DAYS and steps[0] == today - dt.timedelta(days=DAYS) and steps[-1] == today - dt.timedelta(days=1)
    )
    sleep = [s for s in samples if s.metric == "sleep_analysis"]
    assert max(s.start.date() for s in sleep) == today
    assert all(4 < float(s.values["totalSleep"]) < 9 for s in sleep)
    assert parse_payload(demo_payload(today)) == samples  # deterministic: the same run stores the same rows
