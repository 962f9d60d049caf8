"""RFC 6238 TOTP (HMAC-SHA1, 30-second steps, 6 digits) and the otpauth:// enrolment URI."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
SECRET_BYTES = 20
ISSUER = "Aegis"


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def b32(secret: bytes) -> str:
    """The base32 form authenticator apps expect (no padding)."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def step_at(unix_time: float) -> int:
    return int(unix_time // STEP_SECONDS)


def code_at_step(secret: bytes, step: int) -> str:
    """RFC 4226 HOTP of the step counter, dynamically truncated to ``DIGITS`` digits."""
    digest = hmac.new(secret, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def looks_like_code(candidate: str) -> bool:
    return len(candidate) == DIGITS and candidate.isascii() and candidate.isdigit()


def match_step(secret: bytes, candidate: str, unix_time: float, *, skew: int = 1) -> int | None:
    """The step (within ±``skew``) whose code equals ``candidate``, else None.

    Every window is compared, in constant time, whatever matched first: the timing tells nothing.
    """
    candidate = candidate.strip().replace(" ", "")
    if not looks_like_code(candidate):
        return None
    now = step_at(unix_time)
    found: int | None = None
    for step in range(now - skew, now + skew + 1):
        if hmac.compare_digest(code_at_step(secret, step).encode(), candidate.encode()) and found is None:
            found = step
    return found


def provisioning_uri(secret: bytes, account: str, issuer: str = ISSUER) -> str:
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode({"secret": b32(secret), "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": 30})
    return f"otpauth://totp/{label}?{query}"
