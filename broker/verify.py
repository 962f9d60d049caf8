"""Access-token verification for services that accept broker tokens (RFC 8725, RFC 9068).

Strict by default: size cap before parsing, duplicate-key-rejecting JSON, header allowlist
``{alg, typ, kid}``, ``typ`` = ``at+jwt``, alg pinned per kid (ES256 only), exact ``iss``, a single
exact ``aud``, integer times, lifetime <= 1800 s, and well-formed scopes.

PyJWT reads the wall clock for ``exp``/``nbf``/``iat``; so that callers can inject ``now``, those three
checks are done here instead (stricter: integers only), and PyJWT does signature, ``iss``, ``aud`` and
presence of the required claims.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
import jwt
from jwt.exceptions import InvalidJTIError, InvalidSubjectError
from jwt.types import Options

from broker.scopes import ScopeError, validate_audience, validate_resource, validate_scopes
from broker.tokens import KID_RE, ClaimError, b64url_decode_strict, strict_json_loads, validate_act
from broker.tokens import JwksError as JwksError
from broker.tokens import KeySet as KeySet
from broker.tokens import VerifyKey as VerifyKey

REQUIRED_CLAIMS = ("exp", "iat", "nbf", "jti", "aud", "iss", "sub", "client_id", "scope")
_HEADER_MEMBERS = frozenset({"alg", "typ", "kid"})
_TYPS = frozenset({"at+jwt", "application/at+jwt"})
_COMPACT_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
MAX_HTTP_BODY = 65536


class VerificationError(Exception):
    """A rejected token. ``code`` is the machine reason; the message never contains the token."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or code)
        self.code = code


class InsufficientScope(VerificationError):
    """The token is valid but lacks scopes; answer 403 with ``www_authenticate`` (RFC 6750 §3.1)."""

    def __init__(self, required: Sequence[str], missing: Sequence[str]) -> None:
        self.required = tuple(required)
        self.missing = tuple(missing)
        super().__init__("insufficient_scope", f"token lacks required scope(s): {' '.join(self.missing)}")
        self.www_authenticate = f'Bearer error="insufficient_scope", scope="{" ".join(self.required)}"'


class _StrictPyJWT(jwt.PyJWT):
    def _decode_payload(self, decoded: dict[str, Any]) -> dict[str, Any]:
        try:
            payload = strict_json_loads(decoded["payload"])
        except (ValueError, RecursionError) as exc:
            raise jwt.DecodeError("invalid payload JSON") from exc
        if not isinstance(payload, dict):
            raise jwt.DecodeError("payload must be a JSON object")
        return payload


_JWT = _StrictPyJWT()
# exp/nbf/iat are checked in _check_claims against the injected clock (PyJWT reads the wall clock).
_DECODE_OPTIONS: Options = {
    "require": list(REQUIRED_CLAIMS),
    "strict_aud": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
}
_ANY_AUD_OPTIONS: Options = {**_DECODE_OPTIONS, "verify_aud": False}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_header(segment: str) -> tuple[str, str]:
    """Parse and check a protected header; return ``(kid, alg)``. A pure function of the segment."""
    try:
        header = strict_json_loads(b64url_decode_strict(segment))
    except (ValueError, RecursionError):
        raise VerificationError("malformed", "token header is not valid base64url JSON") from None
    if not isinstance(header, dict):
        raise VerificationError("malformed", "token header is not a JSON object")
    if not header.keys() <= _HEADER_MEMBERS:
        raise VerificationError("bad_header", "token header has members outside {alg, typ, kid}")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in _TYPS:
        raise VerificationError("bad_typ", "token typ must be at+jwt")
    kid, alg = header.get("kid"), header.get("alg")
    if not isinstance(kid, str) or not KID_RE.fullmatch(kid):
        raise VerificationError("bad_header", "token kid is missing or malformed")
    if not isinstance(alg, str):
        raise VerificationError("bad_alg", "token alg is missing")
    return kid, alg


# Headers that passed _parse_header, by segment text (tokens from one key share one header). Bounded;
# an attacker filling it only costs re-parsing, never a wrong answer: the result depends on the text alone.
_HEADER_CACHE: dict[str, tuple[str, str]] = {}
_HEADER_CACHE_MAX = 256


def _header_key(token: str, keys: KeySet) -> VerifyKey:
    """Check the protected header ourselves, before any signature work, and resolve the pinned key."""
    segment = token[: token.index(".")]
    parsed = _HEADER_CACHE.get(segment)
    if parsed is None:
        parsed = _parse_header(segment)
        if len(segment) <= 512:
            if len(_HEADER_CACHE) >= _HEADER_CACHE_MAX:
                _HEADER_CACHE.clear()
            _HEADER_CACHE[segment] = parsed
    kid, alg = parsed
    key = keys.get(kid)
    if key is None:
        raise VerificationError("unknown_kid", "token kid is not in the key set")
    if alg != key.alg:
        raise VerificationError("bad_alg", f"token alg does not match the key's pinned alg {key.alg}")
    return key


@functools.lru_cache(maxsize=1024)
def _scope_claim_ok(scope: str) -> bool:
    """Called only after the signature is verified, so only broker-signed strings are cached."""
    try:
        validate_scopes(scope.split(" "))
    except ScopeError:
        return False
    return True


@functools.lru_cache(maxsize=1024)
def _resource_claim_ok(resource: str) -> bool:
    try:
        validate_resource(resource)
    except ScopeError:
        return False
    return True


def verify_token(
    token: str,
    *,
    keys: KeySet,
    issuer: str,
    audience: str | None,
    leeway: int = 60,
    max_lifetime: int = 1800,
    max_size: int = 8192,
    now: int | None = None,
) -> dict[str, Any]:
    """Verify a broker access token and return its claims, or raise :class:`VerificationError`.

    ``audience`` is this service's own audience, compared exactly. ``None`` is only for the broker's
    introspection endpoint: it then accepts any single, well-formed ``aud`` (still required).
    """
    if not issuer or not isinstance(issuer, str) or (audience is not None and not isinstance(audience, str)):
        raise ValueError("issuer must be a non-empty string and audience a string or None")
    if audience == "":
        raise ValueError("audience must not be empty")
    if not (_is_int(leeway) and 0 <= leeway <= 300 and _is_int(max_lifetime) and 1 <= max_lifetime <= 1800):
        raise ValueError("leeway must be 0..300 and max_lifetime 1..1800 seconds")
    if not isinstance(token, str):
        raise VerificationError("malformed", "token must be a string")
    if len(token) > max_size:
        raise VerificationError("too_large", f"token larger than {max_size} bytes")
    if not _COMPACT_RE.fullmatch(token):
        raise VerificationError("malformed", "token is not a compact JWS")
    key = _header_key(token, keys)
    options = _DECODE_OPTIONS if audience is not None else _ANY_AUD_OPTIONS
    try:
        claims = _JWT.decode(
            token, key.public_key, algorithms=[key.alg], options=options,
            audience=audience, issuer=issuer, leeway=leeway,
        )  # fmt: skip
    except jwt.InvalidSignatureError:
        raise VerificationError("bad_signature", "token signature is invalid") from None
    except jwt.MissingRequiredClaimError as exc:
        raise VerificationError("missing_claim", f"token lacks required claim {exc.claim}") from None
    except jwt.InvalidIssuerError:
        raise VerificationError("bad_issuer", "token issuer is not the expected one") from None
    except jwt.InvalidAudienceError:
        raise VerificationError("bad_audience", "token audience is not exactly this service") from None
    except jwt.InvalidAlgorithmError:
        raise VerificationError("bad_alg", "token alg is not allowed") from None
    except (InvalidSubjectError, InvalidJTIError):
        raise VerificationError("bad_claim_type", "token sub or jti is not a string") from None
    except jwt.InvalidTokenError:
        raise VerificationError("malformed", "token could not be decoded") from None
    if audience is None:
        try:
            validate_audience(claims["aud"])
        except ScopeError:
            raise VerificationError("bad_audience", "token audience is not a single audience") from None
    now = int(time.time()) if now is None else now
    _check_claims(claims, now=now, leeway=leeway, max_lifetime=max_lifetime)
    return claims


def _check_claims(claims: dict[str, Any], *, now: int, leeway: int, max_lifetime: int) -> None:
    exp, iat, nbf = claims["exp"], claims["iat"], claims["nbf"]
    if not (_is_int(exp) and _is_int(iat) and _is_int(nbf)):
        raise VerificationError("bad_claim_type", "exp, iat and nbf must be integers")
    if exp <= iat:
        raise VerificationError("bad_claim_type", "exp must be after iat")
    if exp - iat > max_lifetime:
        raise VerificationError("ttl_too_long", f"token lifetime exceeds {max_lifetime} seconds")
    if exp <= now - leeway:
        raise VerificationError("expired", "token has expired")
    if nbf > now + leeway:
        raise VerificationError("not_yet_valid", "token is not valid yet (nbf)")
    if iat > now + leeway:
        raise VerificationError("not_yet_valid", "token was issued in the future (iat)")
    for name in ("sub", "client_id", "jti"):
        value = claims[name]
        if not isinstance(value, str) or not value or len(value) > 255:
            raise VerificationError("bad_claim_type", f"{name} must be a non-empty string")
    scope = claims["scope"]
    if not isinstance(scope, str) or not _scope_claim_ok(scope):
        raise VerificationError("bad_scope", "scope is not a space-separated list of exact scopes")
    resource = claims.get("resource")
    if resource is None:
        raise VerificationError("missing_claim", "token lacks required claim resource")
    if not isinstance(resource, str) or not _resource_claim_ok(resource):
        raise VerificationError("bad_claim_type", "resource claim is malformed")
    if "act" in claims:
        try:
            validate_act(claims["act"])
        except ClaimError:
            raise VerificationError("bad_claim_type", "act claim is malformed") from None
    if "txn" in claims and not isinstance(claims["txn"], str):
        raise VerificationError("bad_claim_type", "txn must be a string")


def token_scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    scope = claims.get("scope")
    return frozenset(scope.split(" ")) if isinstance(scope, str) else frozenset()


def require_scopes(claims: Mapping[str, Any], required: Sequence[str]) -> None:
    """Raise :class:`InsufficientScope` unless every required scope is granted, by exact match."""
    wanted = validate_scopes(required)
    granted = token_scopes(claims)
    missing = [scope for scope in wanted if scope not in granted]
    if missing:
        raise InsufficientScope(wanted, missing)


async def introspect_token(
    token: str, *, http: httpx.AsyncClient, url: str, headers: Mapping[str, str]
) -> dict[str, Any]:
    """POST the token to the broker's introspection endpoint; return its RFC 7662 answer."""
    try:
        response = await http.post(url, json={"token": token}, headers=dict(headers))
    except httpx.HTTPError:
        raise VerificationError("introspection_failed", "introspection request failed") from None
    if response.status_code != 200 or len(response.content) > MAX_HTTP_BODY:
        raise VerificationError("introspection_failed", f"introspection answered {response.status_code}")
    try:
        data = strict_json_loads(response.content)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("active"), bool):
        raise VerificationError("introspection_failed", "introspection answer is not RFC 7662 JSON")
    return data


def _url_ok(url: str, allow_plain_http: bool) -> bool:
    if allow_plain_http and url.startswith("http://"):
        url = "https://" + url[len("http://") :]
    try:
        validate_audience(url)
    except ScopeError:
        return False
    return "://" in url


class Verifier:
    """Async verifier for services: cached JWKS, optional online revocation via introspection."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str,
        http: httpx.AsyncClient,
        jwks_ttl: float = 300,
        jwks_min_refetch: float = 30,
        introspect_url: str | None = None,
        introspect_auth: Callable[[], Mapping[str, str]] | None = None,
        revocation_cache_ttl: float = 5,
        leeway: int = 60,
        max_lifetime: int = 1800,
        max_revocation_cache: int = 10_000,
        clock: Callable[[], float] = time.time,
        allow_plain_http: bool = False,
    ) -> None:
        if (introspect_url is None) != (introspect_auth is None):
            raise ValueError("introspect_url and introspect_auth go together")
        for url in (jwks_url, introspect_url):
            if url is not None and not _url_ok(url, allow_plain_http):
                raise ValueError("broker URLs must be https:// (or http:// on loopback, or allow_plain_http)")
        if not 0 < revocation_cache_ttl <= 60 or not 0 < jwks_ttl <= 86400:
            raise ValueError("revocation_cache_ttl must be in (0, 60] and jwks_ttl in (0, 86400]")
        self.issuer, self.audience = issuer, audience
        self._jwks_url, self._http = jwks_url, http
        self._jwks_ttl, self._min_refetch = jwks_ttl, jwks_min_refetch
        self._introspect_url, self._introspect_auth = introspect_url, introspect_auth
        self._rev_ttl, self._rev_max = revocation_cache_ttl, max_revocation_cache
        self._leeway, self._max_lifetime = leeway, max_lifetime
        self._clock = clock
        self._keyset: KeySet | None = None
        self._fetched_at = 0.0
        self._last_attempt: float | None = None
        self._generation = 0
        self._lock = asyncio.Lock()
        self._revocation: dict[str, tuple[bool, float]] = {}
        self.jwks_fetches = 0
        self.introspections = 0

    async def verify(self, token: str) -> dict[str, Any]:
        keys, generation = await self._current_keys()
        try:
            claims = self._verify_with(token, keys)
        except VerificationError as exc:
            if exc.code != "unknown_kid":
                raise
            refreshed = await self._refresh_for_unknown_kid(generation)
            if refreshed is None:
                raise
            claims = self._verify_with(token, refreshed)
        if self._introspect_url is not None:
            await self._check_revocation(token, claims)
        return claims

    def _verify_with(self, token: str, keys: KeySet) -> dict[str, Any]:
        return verify_token(
            token, keys=keys, issuer=self.issuer, audience=self.audience, leeway=self._leeway,
            max_lifetime=self._max_lifetime, now=int(self._clock()),
        )  # fmt: skip

    async def _fetch(self) -> bool:
        """Fetch the JWKS; keep the old set on failure. Caller holds the lock."""
        self._last_attempt = self._clock()
        self.jwks_fetches += 1
        try:
            response = await self._http.get(self._jwks_url)
            if response.status_code != 200 or len(response.content) > MAX_HTTP_BODY:
                return False
            keyset = KeySet.from_jwks(strict_json_loads(response.content))
        except (httpx.HTTPError, ValueError, RecursionError):
            return False
        self._keyset, self._fetched_at = keyset, self._clock()
        self._generation += 1
        return True

    def _recently_attempted(self) -> bool:
        return self._last_attempt is not None and self._clock() - self._last_attempt < self._min_refetch

    async def _current_keys(self) -> tuple[KeySet, int]:
        if self._keyset is not None and self._clock() < self._fetched_at + self._jwks_ttl:
            return self._keyset, self._generation
        async with self._lock:
            fresh = self._keyset is not None and self._clock() < self._fetched_at + self._jwks_ttl
            if not fresh and not self._recently_attempted():  # no refetch storm while the broker is down
                fresh = await self._fetch()
            if not fresh or self._keyset is None:
                raise VerificationError("jwks_unavailable", "cannot fetch the broker's JWKS")
            return self._keyset, self._generation

    async def _refresh_for_unknown_kid(self, generation: int) -> KeySet | None:
        """Refetch once for an unknown kid, at most every ``jwks_min_refetch`` seconds."""
        async with self._lock:
            if self._generation != generation:  # someone else refreshed meanwhile
                return self._keyset
            if self._recently_attempted() or not await self._fetch():
                return None
            return self._keyset

    async def _check_revocation(self, token: str, claims: dict[str, Any]) -> None:
        if self._introspect_url is None or self._introspect_auth is None:
            raise RuntimeError("online revocation is not configured")
        jti, now = claims["jti"], self._clock()
        cached = self._revocation.get(jti)
        if cached is None or now >= cached[1]:
            self.introspections += 1
            answer = await introspect_token(
                token, http=self._http, url=self._introspect_url, headers=self._introspect_auth()
            )
            active = answer["active"] is True
            if active and answer.get("jti", jti) != jti:
                raise VerificationError("introspection_failed", "introspection answered for another token")
            until = now + self._rev_ttl if active else float(claims["exp"] + self._leeway)
            self._remember(jti, active, until, now)
            cached = (active, until)
        if not cached[0]:
            raise VerificationError("revoked", "token has been revoked or is no longer active")

    def _remember(self, jti: str, active: bool, until: float, now: float) -> None:
        cache = self._revocation
        if len(cache) >= self._rev_max:
            for key in [k for k, (_, exp) in cache.items() if exp <= now]:
                del cache[key]
            while len(cache) >= self._rev_max:
                del cache[next(iter(cache))]
        cache[jti] = (active, until)
