"""The demo watch: Garmin Connect's answers for the last 90 days, dated relative to today.

``garminconnect`` talks ``requests``, which the demo profile and the conformance suite cannot put a
transport under; so the demo swaps the adapter (:class:`DemoGarmin`, a :class:`GarminApi`) for one
that asks the same paths of ``connectapi.garmin.com`` through Aegis's own httpx client (from the
worker thread the client runs adapters in), answered by :func:`demo_transport` with bodies shaped
like Garmin's (API-NOTES §12). The figures are deterministic per day, so two syncs store the same.

The demo login: ``owner@example.com`` signs in at once; an address starting with ``mfa`` is asked
for a code first (``123456``); any other password than the demo's is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any, Final

import anyio.from_thread
import httpx

from tools._http import RetryPolicy, send_with_retry
from tools.errors import AuthExpired, InvalidRequest, RateLimited, UpstreamError
from tools.garmin.adapter import Session
from tools.garmin.models import LoginStep

API: Final = "https://connectapi.garmin.com"
SSO: Final = "https://sso.garmin.com"
DAYS: Final = 90
NAME: Final = "demo-runner"
PASSWORD: Final = "demo-garmin-password"  # noqa: S105 - the demo account's, answered by the demo only
CODE: Final = "123456"
LOGIN: Final = "garmin-login"
TOKENS: Final = "garmin-tokens"


def _tokens(seed: str) -> str:
    return json.dumps(
        {"di_token": f"demo.{seed}.di", "di_refresh_token": f"demo-refresh-{seed}", "di_client_id": "GCM"}
    )


def demo_credentials() -> dict[str, str]:
    return {LOGIN: json.dumps({"email": "owner@example.com", "password": PASSWORD})}


class _DemoSession:
    def __init__(self, api: DemoGarmin, tokens: str) -> None:
        self._api, self._tokens = api, tokens

    def tokens(self) -> str:
        return self._tokens

    def day(self, date: dt.date) -> dict[str, Any]:
        cdate = date.isoformat()
        return {
            "summary": self._api.get(f"/usersummary-service/usersummary/daily/{NAME}", {"calendarDate": cdate}),
            "sleep": self._api.get(f"/wellness-service/wellness/dailySleepData/{NAME}", {"date": cdate}),
            "hrv": self._api.get(f"/hrv-service/hrv/{cdate}", {}),
        }

    def activities(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        found = self._api.get(
            "/activitylist-service/activities/search/activities",
            {"startDate": start.isoformat(), "endDate": end.isoformat(), "start": "0", "limit": "20"},
        )
        return list(found) if isinstance(found, list) else []


class DemoGarmin:
    """:class:`GarminApi` over httpx against the demo's Garmin (runs in the client's worker thread)."""

    def __init__(self, http: httpx.AsyncClient, *, policy: RetryPolicy | None = None) -> None:
        self._http = http
        self._policy = policy or RetryPolicy()

    def _send(self, method: str, url: str, **kwargs: Any) -> Any:
        async def go() -> httpx.Response:
            return await send_with_retry(
                lambda: self._http.request(method, url, **kwargs), policy=self._policy, integration="garmin"
            )

        response = anyio.from_thread.run(go)
        if response.status_code in (401, 403):
            raise AuthExpired("Garmin refused the stored login; log in again", integration="garmin")
        if response.status_code == 429:
            raise RateLimited("Garmin is throttling", integration="garmin", retry_after=None)
        if response.status_code >= 400:
            raise UpstreamError(f"Garmin answered {response.status_code}", integration="garmin")
        return {} if response.status_code == 204 else response.json()  # the library's 204 is {}

    def get(self, path: str, params: dict[str, str]) -> Any:
        return self._send("GET", f"{API}{path}", params=params)

    def start_login(self, email: str, password: str) -> LoginStep:
        out = self._send("POST", f"{SSO}/mobile/api/login", json={"username": email, "password": password})
        if out.get("responseStatus", {}).get("type") == "MFA_REQUIRED":
            return LoginStep(pending=("demo-mfa", email))
        return LoginStep(tokens=_tokens(str(out["serviceTicketId"])))

    def finish_login(self, pending: object, code: str) -> LoginStep:
        if not (isinstance(pending, tuple) and pending[:1] == ("demo-mfa",)):
            raise InvalidRequest("no Garmin sign-in is waiting for a code", integration="garmin")
        out = self._send("POST", f"{SSO}/mobile/api/mfa/verifyCode", json={"mfaCode": code})
        return LoginStep(tokens=_tokens(str(out["serviceTicketId"])))

    def session(self, tokens: str) -> Session:
        doc = json.loads(tokens)
        if not isinstance(doc, dict) or not doc.get("di_token"):
            raise AuthExpired("the stored Garmin tokens are incomplete; log in again", integration="garmin")
        self.get("/userprofile-service/socialProfile", {})
        return _DemoSession(self, tokens)


def _summary(day: dt.date, rng: random.Random) -> dict[str, Any]:
    return {
        "calendarDate": day.isoformat(),
        "totalSteps": rng.randint(5200, 15800),
        "activeKilocalories": float(rng.randint(280, 820)),
        "totalKilocalories": float(rng.randint(2100, 2900)),
        "restingHeartRate": rng.randint(49, 58),
        "averageStressLevel": rng.randint(18, 45),
        "bodyBatteryMostRecentValue": rng.randint(20, 80),
    }


def _sleep(day: dt.date, rng: random.Random) -> dict[str, Any]:
    deep, light, rem, awake = (rng.randint(3600, 6600), rng.randint(12600, 16200), rng.randint(4800, 7800), 900)
    return {
        "dailySleepDTO": {
            "calendarDate": day.isoformat(),
            "sleepTimeSeconds": deep + light + rem,
            "deepSleepSeconds": deep,
            "lightSleepSeconds": light,
            "remSleepSeconds": rem,
            "awakeSleepSeconds": awake,
        },
        "sleepLevels": [],
    }


def _activity(day: dt.date, rng: random.Random) -> dict[str, Any]:
    minutes = rng.randint(30, 70)
    start = dt.datetime.combine(day, dt.time(7, rng.randint(0, 50)))
    return {
        "activityId": int(day.strftime("%Y%m%d")) * 10,
        "activityName": "Morning Run",
        "startTimeGMT": start.strftime("%Y-%m-%d %H:%M:%S"),
        "activityType": {"typeId": 1, "typeKey": "running"},
        "distance": round(minutes * 180.0, 1),
        "duration": minutes * 60.0,
        "calories": float(minutes * 11),
        "averageHR": float(rng.randint(138, 158)),
    }


def _rng(day: dt.date, what: str) -> random.Random:
    return random.Random(f"{day.isoformat()}:{what}")  # noqa: S311 - demo figures, not security


def demo_transport(today: dt.date) -> httpx.MockTransport:
    """Garmin's SSO and Connect API for the demo account, the last :data:`DAYS` days ending today."""
    first = today - dt.timedelta(days=DAYS - 1)

    def day_of(value: str) -> dt.date | None:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return None
        return day if first <= day <= today else None

    def handler(request: httpx.Request) -> httpx.Response:
        path, q = request.url.path, request.url.params
        if request.url.host == "sso.garmin.com":
            body = json.loads(request.content or b"{}")
            if path.endswith("/mfa/verifyCode"):
                ok = body.get("mfaCode") == CODE
                return httpx.Response(200, json={"serviceTicketId": "ST-demo-mfa"}) if ok else httpx.Response(401)
            if body.get("password") != PASSWORD:
                return httpx.Response(401, json={"responseStatus": {"type": "INVALID_USERNAME_PASSWORD"}})
            if str(body.get("username", "")).startswith("mfa"):
                mfa = {"mfaLastMethodUsed": "email"}
                return httpx.Response(200, json={"responseStatus": {"type": "MFA_REQUIRED"}, "customerMfaInfo": mfa})
            return httpx.Response(200, json={"responseStatus": {"type": "SUCCESSFUL"}, "serviceTicketId": "ST-demo"})
        if path == "/userprofile-service/socialProfile":
            return httpx.Response(200, json={"displayName": NAME, "fullName": "Demo Runner"})
        if path.startswith("/usersummary-service/usersummary/daily/"):
            day = day_of(q.get("calendarDate", ""))
            doc = (
                _summary(day, _rng(day, "summary"))
                if day
                else {"calendarDate": q.get("calendarDate"), "totalSteps": None}
            )
            return httpx.Response(200, json=doc)
        if path.startswith("/wellness-service/wellness/dailySleepData/"):
            day = day_of(q.get("date", ""))
            return httpx.Response(200, json=_sleep(day, _rng(day, "sleep")) if day else {})
        if path.startswith("/hrv-service/hrv/"):
            day = day_of(path.rsplit("/", 1)[1])
            if day is None:
                return httpx.Response(204)
            hrv = {"calendarDate": day.isoformat(), "weeklyAvg": 48, "lastNightAvg": _rng(day, "hrv").randint(38, 62)}
            return httpx.Response(200, json={"hrvSummary": hrv})
        if path == "/activitylist-service/activities/search/activities":
            start, end = day_of(q.get("startDate", "")) or first, day_of(q.get("endDate", "")) or today
            days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
            found = [_activity(d, _rng(d, "activity")) for d in reversed(days) if d.toordinal() % 3 == 0]
            return httpx.Response(200, json=found)
        return httpx.Response(404, json={"message": "not found"})

    return httpx.MockTransport(handler)
