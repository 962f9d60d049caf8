"""The async Garmin client: the synchronous adapter run in a worker thread, its errors typed.

Logins are rare (Garmin throttles them hard): :meth:`GarminClient.start_login` and
:meth:`finish_login` run only from the console; every sync starts from the stored tokens
(:meth:`GarminClient.sync`) and returns the tokens as they are after the library refreshed them, so
the caller can put them back in the vault. No retries here: the library retries what it should, and
a throttled call must not be hammered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio.to_thread

from tools.errors import AuthExpired, IntegrationError, InvalidRequest, RateLimited, UpstreamError
from tools.garmin.adapter import GarminApi, Session, library_errors
from tools.garmin.models import GarminActivity, GarminDay, LibraryBroke, LoginStep
from tools.garmin.parse import parse_activity, parse_day

T = TypeVar("T")
MAX_DAYS = 31


@dataclass(frozen=True)
class SyncResult:
    days: list[GarminDay]
    activities: list[GarminActivity]
    tokens: str  # possibly refreshed: store it back


STORED_LOGIN = "Garmin refused the stored login; log in again from the console"


def _typed(
    exc: BaseException, errors: dict[str, tuple[type[BaseException], ...]], refused: str = STORED_LOGIN
) -> IntegrationError:
    text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    if isinstance(exc, IntegrationError):
        return exc
    if isinstance(exc, errors["throttled"]) or "429" in text:
        return RateLimited(f"Garmin is throttling: {text}", integration="garmin", retry_after=None)
    if isinstance(exc, errors["auth"]) or "401" in text:
        return AuthExpired(f"{refused}: {text}", integration="garmin")
    if isinstance(exc, errors["upstream"]):
        return UpstreamError(f"Garmin did not answer: {text}", integration="garmin")
    if isinstance(exc, (KeyError, TypeError, AttributeError, ValueError)):
        message = f"the Garmin library failed ({type(exc).__name__}: {text}); it may need an update"
        return LibraryBroke(message, integration="garmin")
    return UpstreamError(f"Garmin failed: {type(exc).__name__}", integration="garmin")


class GarminClient:
    def __init__(self, api: GarminApi) -> None:
        self._api = api
        self._errors = library_errors()

    async def _run(self, fn: Callable[[], T], refused: str = STORED_LOGIN) -> T:
        try:
            return await anyio.to_thread.run_sync(fn)
        except Exception as exc:  # noqa: BLE001 - every library failure becomes a typed error
            raise _typed(exc, self._errors, refused) from None

    async def start_login(self, email: str, password: str) -> LoginStep:
        if not email or not password:
            raise InvalidRequest("an email and a password are needed", integration="garmin")
        refused = "Garmin refused this email and password"
        return await self._run(lambda: self._api.start_login(email, password), refused)

    async def finish_login(self, pending: object, code: str) -> LoginStep:
        if not code.strip().isdigit():
            raise InvalidRequest("the code is the digits Garmin sent", integration="garmin")
        refused = "Garmin refused the code; start the login again"
        return await self._run(lambda: self._api.finish_login(pending, code.strip()), refused)

    async def sync(self, tokens: str, first: dt.date, last: dt.date) -> SyncResult:
        if last < first or (last - first).days >= MAX_DAYS:
            raise InvalidRequest(f"a sync covers 1 to {MAX_DAYS} days", integration="garmin")

        def work() -> SyncResult:
            session: Session = self._api.session(tokens)
            days = []
            day = first
            while day <= last:
                days.append(parse_day(day, session.day(day)))
                day += dt.timedelta(days=1)
            activities = [parse_activity(a) for a in session.activities(first, last)]
            return SyncResult(days, activities, session.tokens())

        return await self._run(work)
