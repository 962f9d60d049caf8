"""Canvas LMS REST client: ``https://<school>/api/v1/...``, JSON over the shared client.

Site: ``https://canvas.drexel.edu`` unless the vault holds ``canvas-site`` (another school's URL).

Auth: the credential ``canvas-token`` is the owner's personal access token (Account → Settings →
"New Access Token"), sent as ``Authorization: Bearer``. A 401 drops the cached credential (the
owner may paste a new one) and raises :class:`AuthExpired`.

Pagination: Canvas answers lists with an RFC 5988 ``Link`` header; the ``rel="next"`` URL is followed
verbatim (its page token may be opaque, ``page=bookmark:...``), but only on the Canvas host itself,
so a forged header cannot send the token anywhere else.

Throttling: Canvas keeps a leaky bucket per user. Every response carries ``X-Request-Cost``, and
``X-Rate-Limit-Remaining`` when throttling applies. Requests are made one at a time; when the
remaining budget falls under ``low_water`` the client waits before its next request (longer the
lower it is). A throttled request is a 429 or, in older Canvas versions, a 403 whose body says
"Rate Limit Exceeded": both are retried with backoff (``Retry-After`` honoured) and, when retries
run out, raised as :class:`RateLimited`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from tools._http import RetryPolicy, default_retryable, scrub, status_error
from tools.base import BaseIntegration
from tools.canvas.models import Announcement, Assignment, CalendarEvent, Course, Page, Submission
from tools.credentials import CredentialProvider
from tools.errors import AuthExpired, IntegrationError, InvalidRequest, RateLimited

DEFAULT_SITE: Final = "https://canvas.drexel.edu"
CREDENTIAL_NAME: Final = "canvas-token"
SITE_SETTING: Final = "canvas-site"  # optional: the school's Canvas URL, if not the default
PER_PAGE: Final = 100
MAX_PAGES: Final = 50  # a runaway Link chain stops here
LOW_WATER: Final = 150.0  # X-Rate-Limit-Remaining under this: slow down
MAX_PAUSE: Final = 10.0  # seconds, at an empty bucket


def is_throttled(response: httpx.Response) -> bool:
    if response.status_code == 429:
        return True
    return response.status_code == 403 and "rate limit exceeded" in response.text.lower()


def _retryable(response: httpx.Response) -> bool:
    return default_retryable(response) or is_throttled(response)


def _canvas_message(response: httpx.Response) -> str:
    """Canvas errors: ``{"errors": [{"message": ...}]}``, ``{"message": ...}`` or plain text."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason_phrase or "error")[:300]
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message") or "error")[:300]
        if body.get("message"):
            return str(body["message"])[:300]
    return "error"


def site_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidRequest("the Canvas site must be an https URL", integration="canvas")
    return f"https://{parts.netloc.lower()}"


def _check_id(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidRequest("invalid Canvas id", integration="canvas")
    return value


class CanvasClient(BaseIntegration):
    name = "canvas"

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: CredentialProvider,
        *,
        site: str | None = None,
        credential_name: str = CREDENTIAL_NAME,
        retry: RetryPolicy | None = None,
        low_water: float = LOW_WATER,
    ) -> None:
        super().__init__(http, credentials, retry=retry)
        self._site = None if site is None else site_url(site)
        self._secret = credential_name
        self._low_water = low_water
        self.remaining: float | None = None  # the last X-Rate-Limit-Remaining seen
        self.cost = 0.0  # the sum of X-Request-Cost over this client's life

    # ---- transport -------------------------------------------------------------------------

    async def _token(self) -> str:
        token = (await self.get_credential(self._secret)).strip()
        if not token:
            raise AuthExpired("no Canvas access token is stored", integration="canvas")
        return token

    async def site(self) -> str:
        """The school's Canvas: fixed by the caller, else the vault's ``canvas-site``, else the default."""
        if self._site is None:
            try:
                configured: str | None = await self.get_credential(SITE_SETTING)
            except AuthExpired:
                configured = None
            self._site = site_url(configured or DEFAULT_SITE)
        return self._site

    async def _pace(self) -> None:
        """Wait before a request while the bucket is low (Canvas refills it over time)."""
        if self.remaining is None or self.remaining >= self._low_water:
            return
        share = max(0.0, self.remaining) / self._low_water
        await self._retry.sleep(round(MAX_PAUSE * (1.0 - share), 3))

    def _note(self, response: httpx.Response) -> None:
        for header, attr in (("X-Rate-Limit-Remaining", "remaining"), ("X-Request-Cost", "cost")):
            raw = response.headers.get(header)
            try:
                value = float(raw) if raw is not None else None
            except ValueError:
                value = None
            if value is None:
                continue
            if attr == "remaining":
                self.remaining = value
            else:
                self.cost += value

    async def _get(self, url: str, params: Any = None) -> httpx.Response:
        site = await self.site()
        if urlsplit(url).netloc.lower() != urlsplit(site).netloc.lower() or not url.startswith("https://"):
            raise InvalidRequest("Canvas pointed outside its own site; not followed", integration="canvas")
        token = await self._token()
        await self._pace()
        response = await self._send(
            "GET", url, headers={"Authorization": f"Bearer {token}"}, params=params, retryable=_retryable
        )
        self._note(response)
        if response.status_code < 400:
            return response
        raise self._error(response, token)

    def _error(self, response: httpx.Response, token: str) -> IntegrationError:
        text = f"canvas {response.status_code}: {scrub(_canvas_message(response), [token])}"
        if response.status_code == 401:
            self.invalidate_credential(self._secret)
            return AuthExpired(text, integration="canvas", status=401, code="invalid_access_token")
        if is_throttled(response):
            return RateLimited(text, retry_after=None, integration="canvas", status=response.status_code)
        return status_error(response, text, integration="canvas")

    async def page(self, url: str, params: Any = None) -> Page:
        response = await self._get(url, params)
        body = response.json()
        if not isinstance(body, list):
            raise InvalidRequest("Canvas answered a list request with something else", integration="canvas")
        nxt = response.links.get("next", {}).get("url")
        return Page(items=tuple(x for x in body if isinstance(x, dict)), next_url=nxt)

    async def iter_list(self, path: str, params: Sequence[tuple[str, str | int]] = ()) -> AsyncIterator[dict[str, Any]]:
        """Every element of a paginated list, following ``rel="next"`` verbatim."""
        url: str | None = f"{await self.site()}/api/v1{path}"
        query: Any = [*params, ("per_page", PER_PAGE)]
        for _ in range(MAX_PAGES):
            if url is None:
                return
            found = await self.page(url, query)
            for item in found.items:
                yield item
            url, query = found.next_url, None
        raise InvalidRequest(f"Canvas returned more than {MAX_PAGES} pages", integration="canvas")

    async def _all(self, path: str, params: Sequence[tuple[str, str | int]] = ()) -> list[dict[str, Any]]:
        return [item async for item in self.iter_list(path, params)]

    # ---- API -------------------------------------------------------------------------------

    async def health_check(self) -> bool:
        return await self._healthy(self.courses)

    async def courses(self) -> list[Course]:
        """Active courses with the term and the owner's current score and grade."""
        params = [("enrollment_state", "active"), ("include[]", "term"), ("include[]", "total_scores")]
        return [Course.model_validate(c) for c in await self._all("/courses", params)]

    async def assignments(self, course_id: int) -> list[Assignment]:
        """A course's assignments with the owner's submission, by due date."""
        path = f"/courses/{_check_id(course_id)}/assignments"
        params = [("include[]", "submission"), ("order_by", "due_at")]
        return [Assignment.model_validate(a) for a in await self._all(path, params)]

    async def submission(self, course_id: int, assignment_id: int) -> Submission:
        path = f"/courses/{_check_id(course_id)}/assignments/{_check_id(assignment_id)}/submissions/self"
        response = await self._get(f"{await self.site()}/api/v1{path}")
        return Submission.model_validate(response.json())

    async def announcements(self, course_ids: Sequence[int], start: str, end: str) -> list[Announcement]:
        if not course_ids:
            return []
        params: list[tuple[str, str | int]] = [("context_codes[]", f"course_{_check_id(c)}") for c in course_ids]
        params += [("start_date", start), ("end_date", end)]
        return [Announcement.model_validate(a) for a in await self._all("/announcements", params)]

    async def calendar_events(self, course_ids: Sequence[int], start: str, end: str) -> list[CalendarEvent]:
        params: list[tuple[str, str | int]] = [("type", "event"), ("start_date", start), ("end_date", end)]
        params += [("context_codes[]", f"course_{_check_id(c)}") for c in course_ids]
        return [CalendarEvent.model_validate(e) for e in await self._all("/calendar_events", params)]
