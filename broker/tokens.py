"""ES256 signing keys, JWKS publication and parsing (:class:`KeySet`), RFC 9068 access-token minting.

Header: exactly ``{"alg": "ES256", "typ": "at+jwt", "kid": ...}``. Claims: ``iss sub client_id aud
scope resource txn jti iat nbf exp`` (+ ``act`` for delegation, RFC 8693 §4.1). The lifetime is
1..1800 s; anything else is rejected, never clamped.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.utils import base64url_encode

from broker.scopes import validate_audience, validate_resource, validate_scopes

ALG = "ES256"
TYP = "at+jwt"
MAX_TTL = 1800
MAX_ACT_DEPTH = 2
KID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ID_RE = re.compile(r"[\x21-\x7e]{1,128}")  # printable ASCII, no spaces
MAX_JWKS_KEYS = 100
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")
REGISTERED_CLAIMS = frozenset(
    {"iss", "sub", "client_id", "aud", "scope", "resource", "txn", "jti", "iat", "nbf", "exp", "act"}
    | {"azp", "cnf", "may_act", "scp", "scopes", "auth_time", "acr", "amr"}
)


class TokenError(ValueError):
    """A mint request that does not satisfy the token profile."""


class TtlError(TokenError):
    """The requested lifetime is outside 1..1800 seconds (rejected, never clamped)."""


class ClaimError(TokenError):
    """A claim value (issuer, subject, act, extra ...) is not acceptable."""


class SigningKeyError(ValueError):
    """A signing key that is not an ES256 (P-256) private key, or a bad kid."""


def _b64_coord(value: int) -> str:
    return base64url_encode(value.to_bytes(32, "big")).decode("ascii")


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)
    created_at: int

    def __post_init__(self) -> None:
        if not isinstance(self.kid, str) or not KID_RE.fullmatch(self.kid):
            raise SigningKeyError("kid must be 1-64 characters of [A-Za-z0-9._-]")
        if not isinstance(self.private_key, ec.EllipticCurvePrivateKey) or not isinstance(
            self.private_key.curve, ec.SECP256R1
        ):
            raise SigningKeyError("signing key must be an EC P-256 private key")

    @classmethod
    def generate(cls, now: int) -> SigningKey:
        day = datetime.fromtimestamp(now, tz=UTC).strftime("%Y%m%d")
        kid = f"ks-{day}-{secrets.token_hex(4)}"
        return cls(kid=kid, private_key=ec.generate_private_key(ec.SECP256R1()), created_at=now)

    @classmethod
    def from_pem(cls, kid: str, pem: bytes, created_at: int) -> SigningKey:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError("cannot load the signing key PEM") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise SigningKeyError("signing key must be an EC P-256 private key")
        return cls(kid=kid, private_key=key, created_at=created_at)

    def private_pem(self) -> bytes:
        """PKCS#8, unencrypted: the caller must encrypt it before it is stored."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_jwk(self) -> dict[str, str]:
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64_coord(numbers.x),
            "y": _b64_coord(numbers.y),
            "kid": self.kid,
            "alg": ALG,
            "use": "sig",
        }


def jwks(keys: Iterable[SigningKey]) -> dict[str, list[dict[str, str]]]:
    """The public JWK Set for the given keys (current, next and recently retired)."""
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for key in keys:
        if key.kid in seen:
            raise SigningKeyError(f"duplicate kid in key set: {key.kid}")
        seen.add(key.kid)
        out.append(key.public_jwk())
    return {"keys": out}


class JwksError(ValueError):
    """A JWK Set document that cannot be trusted (malformed, duplicate kid, private key material)."""


class StrictJsonError(ValueError):
    """JSON that ``json.loads`` would accept but we do not: duplicate members, NaN, Infinity."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise StrictJsonError("duplicate member in JSON object")
    return out


def _no_constant(name: str) -> Any:
    raise StrictJsonError("non-standard JSON constant")


def strict_json_loads(data: bytes | str) -> Any:
    """``json.loads`` that rejects duplicate object members and NaN/Infinity."""
    return json.loads(data, object_pairs_hook=_pairs, parse_constant=_no_constant)


def b64url_decode_strict(segment: str) -> bytes:
    """Strict unpadded base64url: alphabet only and canonical (re-encodes to the same text)."""
    if not _B64URL_RE.fullmatch(segment) or len(segment) % 4 == 1:
        raise ValueError("not base64url")
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != segment:
        raise ValueError("non-canonical base64url")
    return raw


@dataclass(frozen=True, slots=True)
class VerifyKey:
    kid: str
    alg: str
    public_key: ec.EllipticCurvePublicKey = field(repr=False)


class KeySet:
    """Verification keys by kid, each pinned to one algorithm (ES256)."""

    def __init__(self, keys: Iterable[VerifyKey] = ()) -> None:
        self._keys: dict[str, VerifyKey] = {}
        for key in keys:
            if key.kid in self._keys:
                raise JwksError(f"duplicate kid: {key.kid}")
            self._keys[key.kid] = key

    @classmethod
    def from_jwks(cls, doc: Mapping[str, Any]) -> KeySet:
        """Load EC P-256 / ES256 signing keys; skip every other key type (``oct`` never becomes a secret)."""
        if not isinstance(doc, Mapping) or not isinstance(doc.get("keys"), list):
            raise JwksError("JWKS must be an object with a 'keys' list")
        if len(doc["keys"]) > MAX_JWKS_KEYS:
            raise JwksError("JWKS has too many keys")
        out: list[VerifyKey] = []
        for jwk in doc["keys"]:
            if not isinstance(jwk, dict):
                raise JwksError("JWKS entry is not an object")
            key = _load_jwk(jwk)
            if key is not None:
                out.append(key)
        return cls(out)

    def get(self, kid: str) -> VerifyKey | None:
        return self._keys.get(kid)

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def _load_jwk(jwk: dict[str, Any]) -> VerifyKey | None:
    if "d" in jwk or "k" in jwk:
        raise JwksError("JWKS contains private or symmetric key material")
    usable = (
        jwk.get("kty") == "EC"
        and jwk.get("crv") == "P-256"
        and jwk.get("alg") == ALG
        and jwk.get("use", "sig") == "sig"
        and isinstance(jwk.get("kid"), str)
        and KID_RE.fullmatch(jwk["kid"]) is not None
    )
    if not usable:
        return None
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return None
    try:
        x, y = b64url_decode_strict(jwk["x"]), b64url_decode_strict(jwk["y"])
        if len(x) != 32 or len(y) != 32:
            raise ValueError("coordinate length")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
    except (KeyError, TypeError, ValueError) as exc:
        raise JwksError(f"invalid EC key for kid {jwk['kid']}") from exc
    return VerifyKey(kid=jwk["kid"], alg=ALG, public_key=public)


def _check_text(name: str, value: object, pattern: re.Pattern[str] = _ID_RE) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ClaimError(f"{name} must be 1-128 printable ASCII characters without spaces")
    return value


def validate_act(act: object, depth: int = 1) -> dict[str, Any]:
    """An RFC 8693 ``act`` claim: an object with a string ``sub``, nested at most two deep."""
    if not isinstance(act, dict):
        raise ClaimError("act must be a JSON object")
    if depth > MAX_ACT_DEPTH:
        raise ClaimError(f"act chain deeper than {MAX_ACT_DEPTH}")
    _check_text("act.sub", act.get("sub"))
    unknown = set(act) - {"sub", "act", "client_id", "iss"}
    if unknown:
        raise ClaimError(f"act has unsupported members: {sorted(unknown)}")
    for member in ("client_id", "iss"):
        if member in act:
            _check_text(f"act.{member}", act[member])
    if "act" in act:
        validate_act(act["act"], depth + 1)
    return act


def _check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TokenError(f"{name} must be an integer")
    return value


def mint_token(
    key: SigningKey,
    *,
    issuer: str,
    subject: str,
    client_id: str,
    audience: str,
    scopes: list[str],
    resource: str,
    ttl_seconds: int,
    txn: str,
    now: int,
    jti: str | None = None,
    act: dict[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """Sign an RFC 9068 access token; return ``(token, claims)``."""
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int):
        raise TtlError("ttl_seconds must be an integer")
    if not 1 <= ttl_seconds <= MAX_TTL:
        raise TtlError(f"ttl_seconds must be between 1 and {MAX_TTL}, got {ttl_seconds}")
    now = _check_int("now", now)
    if now < 0:
        raise TokenError("now must not be negative")
    claims: dict[str, Any] = {
        "iss": _check_text("issuer", issuer, re.compile(r"[\x21-\x7e]{1,255}")),
        "sub": _check_text("subject", subject),
        "client_id": _check_text("client_id", client_id),
        "aud": validate_audience(audience),
        "scope": " ".join(validate_scopes(scopes)),
        "resource": validate_resource(resource),
        "txn": _check_text("txn", txn),
        "jti": uuid.uuid4().hex if jti is None else _check_text("jti", jti),
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
    }
    if act is not None:
        claims["act"] = validate_act(act)
    if extra:
        clash = set(extra) & REGISTERED_CLAIMS
        if clash:
            raise ClaimError(f"extra claims may not set registered claims: {sorted(clash)}")
        for name in extra:
            if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name):
                raise ClaimError("extra claim names must be lowercase identifiers")
        claims.update(extra)
    token = jwt.encode(claims, key.private_key, algorithm=ALG, headers={"typ": TYP, "kid": key.kid})
    return token, claims
