"""The only module that imports ``garminconnect``: a small, swappable adapter.

Version choice: ``garminconnect==0.3.2``. The current release (0.3.20) needs Python 3.12 or newer and
Aegis runs on 3.11; 0.3.2 is the last release that installs here, and it already has the native
(garth-free) DI OAuth login, ``return_on_mfa`` and ``resume_login``. Everything else in Aegis talks
to :class:`GarminApi`, so moving to another version or another library touches this file only.

MFA: in 0.3.2 ``login()`` returns ``("needs_mfa", None)`` and keeps the half-done sign-in (an HTTP
session and its form state) on the ``Garmin`` object itself; ``resume_login`` ignores its state
argument and finishes on that same object. So the pending login is that object, held in the
server's memory until the owner types the code, never serialised.

Tokens never touch a folder: ``login()`` gets the token JSON itself (the library reads a string
longer than 512 characters as the tokens, not a path), and :meth:`Session.tokens` hands back the
possibly refreshed JSON for the broker's vault. The library is synchronous; the client runs these
methods in a worker thread.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from tools.garmin.models import LoginStep

MIN_TOKENS_LENGTH = 513  # the library reads shorter strings as a file path


class Session(Protocol):
    def tokens(self) -> str: ...

    def day(self, date: dt.date) -> dict[str, Any]: ...

    def activities(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]: ...


class GarminApi(Protocol):
    def start_login(self, email: str, password: str) -> LoginStep: ...

    def finish_login(self, pending: object, code: str) -> LoginStep: ...

    def session(self, tokens: str) -> Session: ...


class _LibrarySession:
    def __init__(self, garmin: Any) -> None:
        self._g = garmin

    def tokens(self) -> str:
        return str(self._g.client.dumps())

    def day(self, date: dt.date) -> dict[str, Any]:
        """The raw answers for one day: summary, sleep and HRV (each as the library returns it)."""
        cdate = date.isoformat()
        return {
            "summary": self._g.get_user_summary(cdate),
            "sleep": self._g.get_sleep_data(cdate),
            "hrv": self._g.get_hrv_data(cdate),
        }

    def activities(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        found = self._g.get_activities_by_date(start.isoformat(), end.isoformat())
        return list(found or [])


class LibraryGarmin:
    """:class:`GarminApi` over ``garminconnect`` 0.3.2."""

    def start_login(self, email: str, password: str) -> LoginStep:
        from garminconnect import Garmin

        g = Garmin(email, password, return_on_mfa=True)
        status, _ = g.login()
        if status == "needs_mfa":
            return LoginStep(pending=g)
        return LoginStep(tokens=str(g.client.dumps()))

    def finish_login(self, pending: object, code: str) -> LoginStep:
        from garminconnect import Garmin

        if not isinstance(pending, Garmin):
            raise TypeError("no Garmin sign-in is waiting for a code")
        pending.resume_login({}, code)
        return LoginStep(tokens=str(pending.client.dumps()))

    def session(self, tokens: str) -> Session:
        from garminconnect import Garmin

        g = Garmin()
        g.login(tokens.ljust(MIN_TOKENS_LENGTH))  # JSON ignores the trailing blanks
        return _LibrarySession(g)


def library_errors() -> dict[str, tuple[type[BaseException], ...]]:
    """The library's exception types by what they mean (imported here only)."""
    from garminconnect import (
        GarminConnectAuthenticationError,
        GarminConnectConnectionError,
        GarminConnectTooManyRequestsError,
    )

    return {
        "auth": (GarminConnectAuthenticationError,),
        "throttled": (GarminConnectTooManyRequestsError,),
        "upstream": (GarminConnectConnectionError,),
    }
