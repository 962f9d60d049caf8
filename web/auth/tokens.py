"""Session credentials: access JWTs (HS256), opaque refresh tokens, and session-bound CSRF tokens.

Every key is derived with HKDF-SHA256 from the ``auth`` domain's keyed-hash key, which the console
receives from the broker. Rotating that data key therefore ends every console session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.crypto.keyring import Keyring

ALGORITHM = "HS256"
TOKEN_TYPE = "console+jwt"  # noqa: S105 - the JWT typ header, not a secret
AUDIENCE = "aegis-console"
SUBJECT = "admin"
_REQUIRED = ["exp", "iat", "jti", "sid", "sub", "aud"]


class InvalidAccessToken(Exception):
    """The access token is malformed, forged, of another type, or expired."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    sid: str
    jti: str
    iat: int
    exp: int


def _derive(root: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(root)


class TokenKeys:
    """The three keys the console derives; built once in ``create_app``."""

    def __init__(self, keyring: Keyring) -> None:
        root = keyring.index_key("auth")
        self._jwt = _derive(root, b"aegis/console/access-jwt")
        self._refresh = _derive(root, b"aegis/console/refresh-token")
        self._csrf = _derive(root, b"aegis/console/csrf")

    def issue_access(self, sid: str, now: int, ttl: int) -> tuple[str, AccessClaims]:
        claims = AccessClaims(sid=sid, jti=uuid.uuid4().hex, iat=now, exp=now + ttl)
        payload = {"sub": SUBJECT, "aud": AUDIENCE, "sid": sid, "jti": claims.jti, "iat": now, "exp": claims.exp}
        return jwt.encode(payload, self._jwt, algorithm=ALGORITHM, headers={"typ": TOKEN_TYPE}), claims

    def verify_access(self, token: str, now: float) -> AccessClaims:
        """Signature, algorithm, type, audience and required claims; expiry against our own clock."""
        try:
            out = jwt.decode_complete(
                token,
                self._jwt,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                options={"require": _REQUIRED, "verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError as exc:
            raise InvalidAccessToken(type(exc).__name__) from None
        header, payload = out["header"], out["payload"]
        if header.get("typ") != TOKEN_TYPE or payload.get("sub") != SUBJECT:
            raise InvalidAccessToken("wrong token type")
        exp, iat = payload["exp"], payload["iat"]
        if not isinstance(exp, int) or not isinstance(iat, int) or not isinstance(payload["sid"], str):
            raise InvalidAccessToken("malformed claims")
        if now >= exp:
            raise InvalidAccessToken("expired")
        if iat > now + 60:
            raise InvalidAccessToken("issued in the future")
        return AccessClaims(sid=payload["sid"], jti=str(payload["jti"]), iat=iat, exp=exp)

    def refresh_hash(self, token: str) -> str:
        return hmac.new(self._refresh, token.encode("ascii", "replace"), hashlib.sha256).hexdigest()

    def csrf_token(self, sid: str) -> str:
        """Bound to the session: a cookie planted by someone else can never match."""
        mac = hmac.new(self._csrf, sid.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")

    def csrf_matches(self, sid: str, presented: str | None, cookie: str | None) -> bool:
        if not presented or not cookie:
            return False
        expected = self.csrf_token(sid).encode()
        # Both the submitted copy and the cookie must equal the session's token (double submit + binding).
        ok_presented = hmac.compare_digest(presented.encode("ascii", "replace"), expected)
        ok_cookie = hmac.compare_digest(cookie.encode("ascii", "replace"), expected)
        return ok_presented and ok_cookie


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)
