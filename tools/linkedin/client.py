"""LinkedIn's REST API as the member: OpenID Connect sign-in and the Posts API.

Three-legged OAuth (``openid profile email w_member_social``): the authorize page, then the code is
redeemed at ``/oauth/v2/accessToken`` with the application's client id and secret (the vault's
``linkedin-app``, ``client_id:client_secret``). Access tokens last about 60 days and members get no
refresh token: a 401 means the owner reconnects. ``/v2/userinfo`` gives the member's ``sub``; the
author of a post is ``urn:li:person:{sub}``. ``POST /rest/posts`` answers 201 with an empty body and
the new post's URN in the ``x-restli-id`` header. The feed has no API for members.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

import httpx

from tools._http import RetryPolicy, scrub, status_error
from tools.base import BaseIntegration
from tools.credentials import CredentialProvider
from tools.errors import AuthExpired, IntegrationError, InvalidRequest, UpstreamError

NAME: Final = "linkedin"
AUTHORIZE_URL: Final = "https://www.linkedin.com/oauth/v2/authorization"
TOKEN_URL: Final = "https://www.linkedin.com/oauth/v2/accessToken"  # noqa: S105 - an endpoint
USERINFO_URL: Final = "https://api.linkedin.com/v2/userinfo"
POSTS_URL: Final = "https://api.linkedin.com/rest/posts"
SCOPES: Final = ("openid", "profile", "email", "w_member_social")
APP_CREDENTIAL: Final = "linkedin-app"  # client_id:client_secret
TOKEN_CREDENTIAL: Final = "linkedin-token"  # noqa: S105 - a vault name; the member's access token, written by the server
VERSION_SETTING: Final = "linkedin-version"  # optional: the LinkedIn-Version to send (YYYYMM)
DEFAULT_VERSION: Final = "202605"  # the docs snapshot's (li-lms-2026-05); versions sunset about a year on
MAX_POST_CHARS: Final = 3000
_LITTLE_TEXT = re.compile(r"([\\(){}\[\]<>@|~_*#])")
_URN = re.compile(r"^urn:li:(share|ugcPost):[0-9]{1,40}$")


@dataclass(frozen=True)
class Member:
    sub: str
    name: str
    email: str | None

    @property
    def urn(self) -> str:
        return f"urn:li:person:{self.sub}"


@dataclass(frozen=True)
class Published:
    urn: str

    @property
    def link(self) -> str:
        return f"https://www.linkedin.com/feed/update/{self.urn}/"


def little_text(text: str) -> str:
    """Escape LinkedIn's "little text" reserved characters, so the commentary reads as written."""
    return _LITTLE_TEXT.sub(r"\\\1", text)


def check_length(text: str) -> None:
    """LinkedIn's limit on a post's commentary, checked before anything is sent."""
    if not text.strip():
        raise InvalidRequest("a LinkedIn post needs some text", integration=NAME)
    if len(text) > MAX_POST_CHARS:
        raise InvalidRequest(
            f"the post is {len(text)} characters; LinkedIn allows {MAX_POST_CHARS}", integration=NAME, code="too_long"
        )


def _message(response: httpx.Response) -> tuple[str, str | None]:
    """LinkedIn errors: ``{"serviceErrorCode", "message", "status"}`` or OAuth's ``error_description``."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason_phrase or "error")[:300], None
    if not isinstance(body, dict):
        return "error", None
    code = body.get("serviceErrorCode") or body.get("code") or body.get("error")
    for key in ("message", "error_description", "error"):
        if body.get(key):
            return str(body[key])[:300], None if code is None else str(code)
    return "error", None if code is None else str(code)


class LinkedInClient(BaseIntegration):
    name = NAME

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: CredentialProvider,
        *,
        version: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(http, credentials, retry=retry)
        self._version = version

    async def version(self) -> str:
        """The ``LinkedIn-Version`` header: given, else the vault's ``linkedin-version``, else the default."""
        version = self._version
        if version is None:
            try:
                version = (await self.get_credential(VERSION_SETTING)).strip() or DEFAULT_VERSION
            except AuthExpired:
                version = DEFAULT_VERSION
        if not re.fullmatch(r"20[0-9]{4}", version):
            raise InvalidRequest("the LinkedIn-Version setting is not YYYYMM", integration=NAME, code="version")
        return version

    async def _app(self) -> tuple[str, str]:
        client_id, sep, secret = (await self.get_credential(APP_CREDENTIAL)).strip().partition(":")
        if not sep or not client_id or not secret:
            raise AuthExpired("the LinkedIn application is not stored as client_id:client_secret", integration=NAME)
        return client_id, secret

    # ---- OAuth (three-legged) ----------------------------------------------------------------

    async def authorize_url(self, redirect_uri: str, state: str) -> str:
        client_id, _ = await self._app()
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(SCOPES),
            "state": state,
        }
        return f"{AUTHORIZE_URL}?{urlencode(query)}"

    async def exchange_code(self, code: str, redirect_uri: str) -> str:
        """The authorization code for the member's access token (for the vault)."""
        client_id, secret = await self._app()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": secret,
        }
        response = await self._send("POST", TOKEN_URL, form=form, idempotent=False)
        if response.status_code >= 400:
            said, _ = _message(response)
            text = f"linkedin token {response.status_code}: {scrub(said, [secret, code])}"
            if response.status_code in (400, 401):
                raise AuthExpired(text, integration=NAME, status=response.status_code, code="invalid_grant")
            raise status_error(response, text, integration=NAME)
        token = response.json().get("access_token")
        if not isinstance(token, str) or not token:
            raise InvalidRequest("LinkedIn's token answer has no access token", integration=NAME)
        return token

    # ---- the member's API --------------------------------------------------------------------

    async def _token(self) -> str:
        try:
            token = (await self.get_credential(TOKEN_CREDENTIAL)).strip()
        except AuthExpired:
            token = ""
        if not token:
            raise AuthExpired("the owner has not connected LinkedIn yet", integration=NAME, code="not_connected")
        return token

    def _error(self, response: httpx.Response, token: str) -> IntegrationError:
        said, code = _message(response)
        text = f"linkedin {response.status_code}: {scrub(said, [token])}"
        status = response.status_code
        if status == 401:
            self.invalidate_credential(TOKEN_CREDENTIAL)
            return AuthExpired(text, integration=NAME, status=401, code=code or "expired_token")
        if status == 403:
            return AuthExpired(text, integration=NAME, status=403, code="missing_permission")
        if status == 426 or (status == 400 and "version" in said.lower()):
            hint = f"; store a current YYYYMM version as {VERSION_SETTING}"
            return InvalidRequest(text + hint, integration=NAME, status=status, code="version_sunset")
        if status == 422 and "duplicate" in said.lower():
            return InvalidRequest(text, integration=NAME, status=422, code="duplicate")
        return status_error(response, text, integration=NAME, code=code)

    async def health_check(self) -> bool:
        return await self._healthy(self.me)

    async def me(self) -> Member:
        token = await self._token()
        response = await self._send("GET", USERINFO_URL, headers={"Authorization": f"Bearer {token}"})
        if response.status_code >= 400:
            raise self._error(response, token)
        body: dict[str, Any] = response.json()
        sub = body.get("sub")
        if not isinstance(sub, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", sub):
            raise UpstreamError("LinkedIn's userinfo has no usable member id", integration=NAME)
        email = body.get("email")
        return Member(sub, str(body.get("name") or ""), email if isinstance(email, str) else None)

    async def create_post(self, author: str, text: str) -> Published:
        """Publish ``text`` publicly as ``author``. Never retried after it may have been received;
        a 429 (not processed) is retried after its ``Retry-After``."""
        check_length(text)
        token = await self._token()
        body = {
            "author": author,
            "commentary": little_text(text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        headers = {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": await self.version(),
            "X-Restli-Protocol-Version": "2.0.0",
        }
        response = await self._send("POST", POSTS_URL, headers=headers, json=body, idempotent=False)
        if response.status_code != 201:
            raise self._error(response, token)
        urn = response.headers.get("x-restli-id", "").strip()
        if not _URN.fullmatch(urn):
            raise UpstreamError("LinkedIn created the post but gave no post id", integration=NAME, status=201)
        return Published(urn)
