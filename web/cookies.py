"""The browser's credentials: httpOnly access and refresh cookies, plus a readable CSRF cookie."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from web.auth.sessions import IssuedTokens


@dataclass(frozen=True, slots=True)
class CookieNames:
    access: str
    refresh: str
    csrf: str

    @classmethod
    def for_security(cls, secure: bool) -> CookieNames:
        # __Host-: Secure, Path=/ and no Domain, so no other host or path can plant or shadow them.
        prefix = "__Host-" if secure else ""
        return cls(f"{prefix}aegis_access", f"{prefix}aegis_refresh", f"{prefix}aegis_csrf")


def set_session_cookies(response: Response, names: CookieNames, tokens: IssuedTokens, *, secure: bool) -> None:
    for name, value, max_age, http_only in (
        (names.access, tokens.access_token, tokens.access_expires_in, True),
        (names.refresh, tokens.refresh_token, tokens.refresh_expires_in, True),
        (names.csrf, tokens.csrf_token, tokens.refresh_expires_in, False),  # read by console.js for headers
    ):
        response.set_cookie(
            name, value, max_age=max_age, path="/", secure=secure, httponly=http_only, samesite="strict"
        )


def clear_session_cookies(response: Response, names: CookieNames, *, secure: bool) -> None:
    for name in (names.access, names.refresh, names.csrf):
        response.delete_cookie(name, path="/", secure=secure, httponly=name != names.csrf, samesite="strict")
