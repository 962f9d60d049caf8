"""The Garmin client over the real ``garminconnect`` 0.3.2, faked only at the HTTP edge with
``responses`` (requests), with a fake unexpired DI token so no login happens (API-NOTES §12)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from tools.errors import AuthExpired, InvalidRequest, RateLimited
from tools.garmin.adapter import LibraryGarmin
from tools.garmin.client import GarminClient
from tools.garmin.models import LibraryBroke

pytestmark = pytest.mark.anyio
API = "https://connectapi.garmin.com"
DAY = dt.date(2026, 12, 1)
NAME = "owner-display-name"


def _jwt(exp: float) -> str:
    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part({'exp': int(exp), 'sub': 'x' * 40})}.{'s' * 86}"


TOKENS = json.dumps({"di_token": _jwt(time.time() + 86400), "di_refresh_token": "r" * 64, "di_client_id": "GCM_IOS"})
SUMMARY = {
    "calendarDate": "2026-12-01",
    "totalSteps": 11234,
    "activeKilocalories": 612.0,
    "restingHeartRate": 54,
    "averageStressLevel": 31,
    "bodyBatteryMostRecentValue": 42,
    "totalKilocalories": 2480.0,
}
SLEEP = {
    "dailySleepDTO": {
        "calendarDate": "2026-12-01",
        "sleepTimeSeconds": 26100,
        "deepSleepSeconds": 5400,
        "lightSleepSeconds": 14400,
        "remSleepSeconds": 6300,
        "awakeSleepSeconds": 900,
        "sleepStartTimestampGMT": 1764543600000,
        "sleepEndTimestampGMT": 1764570600000,
    },
    "sleepLevels": [],
}
HRV = {"userProfilePk": 1, "hrvSummary": {"calendarDate": "2026-12-01", "weeklyAvg": 48, "lastNightAvg": 51}}
ACTIVITY = {
    "activityId": 19876543210,
    "activityName": "Morning Run",
    "startTimeGMT": "2026-12-01 07:02:11",
    "startTimeLocal": "2026-12-01 08:02:11",
    "activityType": {"typeId": 1, "typeKey": "running"},
    "distance": 8012.4,
    "duration": 2710.5,
    "calories": 598.0,
    "averageHR": 151.0,
}


@pytest.fixture
def garmin() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(f"{API}/userprofile-service/socialProfile", json={"displayName": NAME, "fullName": "Owner"})
        rsps.get(
            f"{API}/userprofile-service/userprofile/user-settings",
            json={"userData": {"measurementSystem": "metric"}},
        )
        yield rsps


def _day(rsps: responses.RequestsMock, summary: Any = SUMMARY, sleep: Any = SLEEP, hrv: Any = HRV) -> None:
    rsps.get(f"{API}/usersummary-service/usersummary/daily/{NAME}", json=summary)
    rsps.get(f"{API}/wellness-service/wellness/dailySleepData/{NAME}", json=sleep)
    rsps.get(f"{API}/hrv-service/hrv/2026-12-01", json=hrv)
    search = f"{API}/activitylist-service/activities/search/activities"
    rsps.get(search, json=[ACTIVITY])
    rsps.get(search, json=[])  # the library pages until an empty page


async def test_a_day_and_its_activities_from_stored_tokens(garmin: responses.RequestsMock) -> None:
    _day(garmin)
    out = await GarminClient(LibraryGarmin()).sync(TOKENS, DAY, DAY)
    (day,) = out.days
    assert (day.steps, day.active_kcal, day.resting_hr, day.stress, day.body_battery) == (11234, 612.0, 54, 31, 42)
    assert (day.sleep_h, day.deep_h, day.light_h, day.rem_h, day.awake_h) == (7.25, 1.5, 4.0, 1.75, 0.25)
    assert day.hrv_ms == 51
    (run,) = out.activities
    assert (run.activity_id, run.kind, run.minutes, run.km, run.kcal) == ("19876543210", "running", 45.2, 8.01, 598.0)
    assert run.start == dt.datetime(2026, 12, 1, 7, 2, 11, tzinfo=dt.UTC)
    assert json.loads(out.tokens)["di_refresh_token"] == "r" * 64  # handed back for the vault
    calls = [c.request for c in garmin.calls]
    assert all(str(c.headers["Authorization"]).startswith("Bearer ") for c in calls)
    summary = next(c for c in calls if "usersummary" in (c.url or ""))
    assert "calendarDate=2026-12-01" in (summary.url or "")
    assert not any("sso.garmin.com" in (c.url or "") for c in calls)  # no login: the tokens were reused


async def test_a_changed_shape_is_a_library_break_not_empty_data(garmin: responses.RequestsMock) -> None:
    _day(garmin, summary={"calendarDate": "2026-12-01", "steps": 11234})
    with pytest.raises(LibraryBroke, match="no totalSteps"):
        await GarminClient(LibraryGarmin()).sync(TOKENS, DAY, DAY)


async def test_a_wrong_type_is_a_library_break(garmin: responses.RequestsMock) -> None:
    _day(garmin, summary={**SUMMARY, "restingHeartRate": "54 bpm"})
    with pytest.raises(LibraryBroke, match="restingHeartRate"):
        await GarminClient(LibraryGarmin()).sync(TOKENS, DAY, DAY)


async def test_a_day_without_sleep_or_hrv_has_no_figures_for_them(garmin: responses.RequestsMock) -> None:
    _day(garmin, summary={**SUMMARY, "restingHeartRate": None}, sleep={}, hrv={})
    (day,) = (await GarminClient(LibraryGarmin()).sync(TOKENS, DAY, DAY)).days
    assert day.resting_hr is None and day.sleep_h is None and day.hrv_ms is None and day.steps == 11234


async def test_throttling_and_refusals_are_typed(garmin: responses.RequestsMock) -> None:
    garmin.get(f"{API}/usersummary-service/usersummary/daily/{NAME}", status=429, json={"message": "Too many"})
    with pytest.raises(RateLimited):
        await GarminClient(LibraryGarmin()).sync(TOKENS, DAY, DAY)


async def test_stored_tokens_that_do_not_parse_ask_for_a_new_login() -> None:
    with pytest.raises(AuthExpired):
        await GarminClient(LibraryGarmin()).sync('{"di_token": null}', DAY, DAY)


async def test_bad_arguments_never_reach_garmin() -> None:
    client = GarminClient(LibraryGarmin())
    with pytest.raises(InvalidRequest):
        await client.sync(TOKENS, DAY, DAY - dt.timedelta(days=1))
    with pytest.raises(InvalidRequest):
        await client.start_login("", "")
    with pytest.raises(InvalidRequest):
        await client.finish_login({}, "abc")
