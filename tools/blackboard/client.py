"""Blackboard Learn REST client, acting as the owner (three-legged OAuth), over the shared client.

Site: ``https://learn.drexel.edu`` unless the vault holds ``blackboard-site``.

Auth: only when the institution registered an application for its Learn site (a "REST API
Integration" with end-user access). The vault then holds ``blackboard-app`` (``<key>:<secret>``,
the application's key and secret from the Anthology developer portal) and ``blackboard-refresh``
(the refresh token the owner's authorization gave, scope ``read offline``). The access token is
fetched with ``POST /learn/api/public/v1/oauth2/token`` (HTTP Basic ``key:secret``, form
``grant_type=refresh_token``), kept in memory until shortly before ``expires_in``. A 401 on a data
call fetches a new access token once; a refused token request is :class:`AuthExpired`.

Pagination: ``{"results": [...], "paging": {"nextPage": "/learn/api/public/...?offset=100"}}``; the
next page is a path on the same site (nothing else is followed).

Quotas: 429 is retried with backoff (``Retry-After`` honoured), then :class:`RateLimited`.
"""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

import httpx

from tools._http import RetryPolicy, scrub, status_error
from tools.base import BaseIntegration
from tools.blackboard.models import Announcement, Column, Course, Grade, Membership, User
from tools.credentials import CredentialProvider
from tools.errors import AuthExpired, IntegrationError, InvalidRequest

DEFAULT_SITE: Final = "https://learn.drexel.edu"
SITE_SETTING: Final = "blackboard-site"
APP_CREDENTIAL: Final = "blackboard-app"
REFRESH_CREDENTIAL: Final = "blackboard-refresh"
API: Final = "/learn/api/public"
TOKEN_PATH: Final = f"{API}/v1/oauth2/token"
AUTHORIZE_PATH: Final = f"{API}/v1/oauth2/authorizationcode"
PAGE_SIZE: Final = 100
MAX_PAGES: Final = 50
_ID = frozenset("_0123456789")


def site_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidRequest("the Blackboard site must be an https URL", integration="blackboard")
    return f"https://{parts.netloc.lower()}"


def learn_id(value: str) -> str:
    """A Learn primary id such as ``_123_1`` (nothing else goes into a path)."""
    if not (value.startswith("_") and set(value) <= _ID and 3 <= len(value) <= 40):
        raise InvalidRequest("invalid Blackboard id", integration="blackboard")
    return value


def _message(response: httpx.Response) -> str:
    """Learn errors: ``{"status": 401, "message": "..."}`` (or an OAuth ``error_description``)."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason_phrase or "error")[:300]
    if isinstance(body, dict):
        for key in ("message", "error_description", "error"):
            if body.get(key):
                return str(body[key])[:300]
    return "error"


class BlackboardClient(BaseIntegration):
    name = "blackboard"

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: CredentialProvider,
        *,
        site: str | None = None,
        retry: RetryPolicy | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        super().__init__(http, credentials, retry=retry)
        self._given = None if site is None else site_url(site)
        self._site = self._given
        self._clock = clock
        self._access: tuple[str, float] | None = None  # (token, monotonic expiry)

    async def site(self) -> str:
        if self._site is None:
            try:
                configured: str | None = await self.get_credential(SITE_SETTING)
            except AuthExpired:
                configured = None
            self._site = site_url(configured or DEFAULT_SITE)
        return self._site

    async def has_application(self) -> bool:
        """Whether the institution granted an application key (else: the browser path)."""
        try:
            return bool((await self.get_credential(APP_CREDENTIAL)).strip())
        except AuthExpired:
            return False

    async def _app(self) -> tuple[str, str]:
        key, sep, secret = (await self.get_credential(APP_CREDENTIAL)).strip().partition(":")
        if not sep or not key or not secret:
            raise AuthExpired("the Blackboard application key is not stored as key:secret", integration="blackboard")
        return key, secret

    # ---- OAuth (three-legged) ----------------------------------------------------------------

    async def authorize_url(self, redirect_uri: str, state: str) -> str:
        """Where the owner approves Aegis at their school (then Learn redirects with ``code``)."""
        key, _ = await self._app()
        query = {
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "client_id": key,
            "scope": "read offline",
            "state": state,
        }
        return f"{await self.site()}{AUTHORIZE_PATH}?{urlencode(query)}"

    async def _token(self, form: dict[str, str]) -> dict[str, Any]:
        key, secret = await self._app()
        basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
        response = await self._send(
            "POST",
            f"{await self.site()}{TOKEN_PATH}",
            headers={"Authorization": f"Basic {basic}"},
            form=form,
            idempotent=False,
        )
        if response.status_code >= 400:
            said = scrub(_message(response), [key, secret, basic, *form.values()])
            text = f"blackboard token {response.status_code}: {said}"
            if response.status_code in (400, 401, 403):
                self.invalidate_credential(REFRESH_CREDENTIAL)
                raise AuthExpired(text, integration="blackboard", status=response.status_code, code="invalid_grant")
            raise status_error(response, text, integration="blackboard")
        body: dict[str, Any] = response.json()
        if not isinstance(body.get("access_token"), str):
            raise InvalidRequest("Blackboard's token answer has no access token", integration="blackboard")
        return body

    async def exchange_code(self, code: str, redirect_uri: str) -> str:
        """The authorization code for tokens; returns the refresh token for the vault."""
        body = await self._token({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})
        self._remember(body)
        refresh = body.get("refresh_token")
        if not isinstance(refresh, str):
            raise AuthExpired("Blackboard gave no refresh token (is 'offline' allowed?)", integration="blackboard")
        return refresh

    def forget_access(self) -> None:
        """Drop the access token held in memory (the owner disconnected)."""
        self._access = None
        self._site = self._given  # a site read from the vault is read again

    def _remember(self, body: dict[str, Any]) -> None:
        ttl = float(body.get("expires_in") or 3599)
        self._access = (str(body["access_token"]), self._clock() + max(0.0, ttl - 60))

    async def _bearer(self) -> str:
        if self._access is not None and self._clock() < self._access[1]:
            return self._access[0]
        try:
            refresh = (await self.get_credential(REFRESH_CREDENTIAL)).strip()
        except AuthExpired:
            refresh = ""
        if not refresh:
            raise AuthExpired("the owner has not authorised Aegis at Blackboard yet", integration="blackboard")
        self._remember(await self._token({"grant_type": "refresh_token", "refresh_token": refresh}))
        assert self._access is not None
        return self._access[0]

    # ---- transport -------------------------------------------------------------------------

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        if not path.startswith(f"{API}/"):
            raise InvalidRequest("Blackboard pointed outside its REST API; not followed", integration="blackboard")
        url = f"{await self.site()}{path}"
        for fresh in (False, True):
            token = await self._bearer()
            response = await self._send("GET", url, headers={"Authorization": f"Bearer {token}"}, params=params)
            if response.status_code == 401 and not fresh:
                self._access = None  # expired early: one new access token, then give up
                continue
            if response.status_code < 400:
                body = response.json()
                if not isinstance(body, dict):
                    raise InvalidRequest(
                        "Blackboard answered with something other than an object", integration="blackboard"
                    )
                return body
            raise self._error(response, token)
        raise AssertionError("unreachable")

    def _error(self, response: httpx.Response, token: str) -> IntegrationError:
        text = f"blackboard {response.status_code}: {scrub(_message(response), [token])}"
        if response.status_code == 401:
            self._access = None
            return AuthExpired(text, integration="blackboard", status=401, code="invalid_token")
        if response.status_code == 403:
            return AuthExpired(text, integration="blackboard", status=403, code="missing_entitlement")
        return status_error(response, text, integration="blackboard")

    async def iter_results(self, path: str, params: dict[str, Any] | None = None) -> AsyncIterator[dict[str, Any]]:
        """Every element of a paged list, following ``paging.nextPage`` on the same API only."""
        query: dict[str, Any] | None = {**(params or {}), "limit": PAGE_SIZE}
        next_path: str | None = path
        for _ in range(MAX_PAGES):
            if next_path is None:
                return
            base, _, raw = next_path.partition("?")
            body = await self._get(base, query if raw == "" else dict(httpx.QueryParams(raw)))
            for item in body.get("results") or []:
                if isinstance(item, dict):
                    yield item
            paging = body.get("paging")
            next_path = paging.get("nextPage") if isinstance(paging, dict) else None
            query = None
        raise InvalidRequest(f"Blackboard returned more than {MAX_PAGES} pages", integration="blackboard")

    # ---- API -------------------------------------------------------------------------------

    async def health_check(self) -> bool:
        return await self._healthy(self.me)

    async def me(self) -> User:
        return User.model_validate(await self._get(f"{API}/v1/users/me"))

    async def memberships(self, user_id: str) -> list[Membership]:
        path = f"{API}/v1/users/{learn_id(user_id)}/courses"
        return [Membership.model_validate(m) async for m in self.iter_results(path)]

    async def course(self, course_id: str) -> Course:
        return Course.model_validate(await self._get(f"{API}/v3/courses/{learn_id(course_id)}"))

    async def columns(self, course_id: str) -> list[Column]:
        path = f"{API}/v2/courses/{learn_id(course_id)}/gradebook/columns"
        return [Column.model_validate(c) async for c in self.iter_results(path)]

    async def grades(self, course_id: str, user_id: str) -> list[Grade]:
        path = f"{API}/v1/courses/{learn_id(course_id)}/gradebook/users/{learn_id(user_id)}"
        return [Grade.model_validate(g) async for g in self.iter_results(path)]

    async def announcements(self, course_id: str) -> list[Announcement]:
        path = f"{API}/v1/courses/{learn_id(course_id)}/announcements"
        return [Announcement.model_validate(a) async for a in self.iter_results(path)]
