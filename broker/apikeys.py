"""Broker API keys: ``aegk_<key_id>.<secret><checksum>``.

* ``key_id``: 16 lowercase hex characters (64 random bits), the public lookup handle;
* ``secret``: 32 random bytes, base62, fixed width 43;
* ``checksum``: CRC32 of everything before it, base62, fixed width 6, so a leaked key can be
  recognised offline by a scanner without a database round trip (GitHub-style).

Only ``hash_api_key`` (HMAC-SHA256 under a server-side pepper) is ever stored. The secret has 256
bits of entropy, so a keyed fast hash is enough; a slow hash would only add latency and DoS exposure.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass, field

PREFIX = "aegk_"
KEY_ID_LEN = 16
SECRET_BYTES = 32
SECRET_LEN = 43  # 62**43 > 2**256
CHECKSUM_LEN = 6  # 62**6 > 2**32
API_KEY_LEN = len(PREFIX) + KEY_ID_LEN + 1 + SECRET_LEN + CHECKSUM_LEN
MAX_INPUT_LEN = 200
MIN_PEPPER_LEN = 32

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_INDEX = {ch: i for i, ch in enumerate(_ALPHABET)}
_FULL_RE = re.compile(
    rf"aegk_(?P<kid>[0-9a-f]{{{KEY_ID_LEN}}})\."
    rf"(?P<secret>[0-9A-Za-z]{{{SECRET_LEN}}})(?P<crc>[0-9A-Za-z]{{{CHECKSUM_LEN}}})"
)
# For secret scanners: the shape only. ``looks_like_api_key`` also checks the checksum.
API_KEY_PATTERN = re.compile(rf"\baegk_[0-9a-f]{{{KEY_ID_LEN}}}\.[0-9A-Za-z]{{{SECRET_LEN + CHECKSUM_LEN}}}\b")
_HEX64_RE = re.compile(r"[0-9a-f]{64}")


class MalformedApiKey(ValueError):
    """The presented string is not a well-formed Aegis API key. The message never contains it."""


class PepperError(ValueError):
    """The pepper used for hashing API keys is missing or too short."""


@dataclass(frozen=True, slots=True)
class ParsedKey:
    key_id: str
    secret_part: str = field(repr=False)


def _b62_encode(value: int, width: int) -> str:
    if value < 0:
        raise ValueError("negative value")
    out: list[str] = []
    while value:
        value, rem = divmod(value, 62)
        out.append(_ALPHABET[rem])
    if len(out) > width:
        raise ValueError("value does not fit the width")
    return "".join(reversed(out)).rjust(width, "0")


def _b62_decode(text: str) -> int:
    value = 0
    for ch in text:
        value = value * 62 + _INDEX[ch]
    return value


def _checksum(body: str) -> str:
    return _b62_encode(zlib.crc32(body.encode("ascii")), CHECKSUM_LEN)


def generate_api_key() -> tuple[str, str]:
    """Return ``(full_key, key_id)``. Show the full key once; store only ``hash_api_key`` of it."""
    key_id = secrets.token_hex(KEY_ID_LEN // 2)
    secret = _b62_encode(int.from_bytes(secrets.token_bytes(SECRET_BYTES), "big"), SECRET_LEN)
    body = f"{PREFIX}{key_id}.{secret}"
    return body + _checksum(body), key_id


def parse_api_key(s: str) -> ParsedKey:
    """Split a presented key into its id and secret, checking shape and checksum."""
    if not isinstance(s, str):
        raise MalformedApiKey("API key must be a string")
    if len(s) > MAX_INPUT_LEN:
        raise MalformedApiKey("API key input is too long")
    if not s.startswith(PREFIX):
        raise MalformedApiKey("API key has the wrong prefix")
    if len(s) != API_KEY_LEN:
        raise MalformedApiKey("API key has the wrong length")
    match = _FULL_RE.fullmatch(s)
    if match is None:
        raise MalformedApiKey("API key has characters outside its alphabet")
    secret = match["secret"]
    if _b62_decode(secret) >> (8 * SECRET_BYTES):
        raise MalformedApiKey("API key secret is not a canonical encoding")
    if not hmac.compare_digest(match["crc"], _checksum(s[:-CHECKSUM_LEN])):
        raise MalformedApiKey("API key checksum does not match")
    return ParsedKey(key_id=match["kid"], secret_part=secret)


def looks_like_api_key(text: str) -> bool:
    """True if ``text`` contains something shaped like an Aegis API key with a valid checksum."""
    for candidate in API_KEY_PATTERN.findall(text):
        try:
            parse_api_key(candidate)
        except MalformedApiKey:
            continue
        return True
    return False


def _check_pepper(pepper: bytes) -> None:
    if not isinstance(pepper, bytes) or len(pepper) < MIN_PEPPER_LEN:
        raise PepperError(f"the API-key pepper must be at least {MIN_PEPPER_LEN} bytes")


def hash_api_key(pepper: bytes, full_key: str) -> str:
    """Hex HMAC-SHA256 of the full key under the pepper: the only form of a key to store."""
    _check_pepper(pepper)
    return hmac.new(pepper, full_key.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_api_key_hash(pepper: bytes, full_key: str, stored_hex: str) -> bool:
    """Constant-time comparison of a presented key against the stored hash."""
    _check_pepper(pepper)
    if not isinstance(stored_hex, str) or not _HEX64_RE.fullmatch(stored_hex):
        return False
    return hmac.compare_digest(hash_api_key(pepper, full_key), stored_hex)
