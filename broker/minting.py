"""Minting: API key → short-lived token, and RFC 8693 exchange of a token for a narrower one.

Invariants (the owner's design): API keys only mint; tokens live 1-1800 s (out of range is rejected,
never clamped); scopes are exact allowlisted strings; every token names exactly one audience; aud,
scopes, resource and ttl are mandatory; the principal's ceiling is absolute.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import ScalarSelect

from broker.apikeys import MalformedApiKey, parse_api_key, verify_api_key_hash
from broker.errors import BadRequest, BrokerError, Forbidden, TooManyRequests, Unauthorized
from broker.guard import RequestInfo, deny, loads_list, record
from broker.keycache import KeyLimits
from broker.mint_pg import LAST_USED_EVERY
from broker.scopes import ScopeError, check_ceiling, validate_audience, validate_resource, validate_scopes
from broker.state import BrokerState
from broker.tokens import mint_token
from storage.audit import Sensitive
from storage.models import ApiKeyRow, IssuedTokenRow, PrincipalRow, SecretRow

MINT = "token.mint"
EXCHANGE = "token.exchange"
EXCHANGE_SCOPE = "tokens.exchange"
MAX_DEPTH = 2
INVALID_KEY = "invalid_key"
SECRET_FAILURES = frozenset({"malformed_key", "unknown_key", "bad_secret", "bad_secret_locked_out", "key_locked"})
_NO_KEY_HASH = "0" * 64


@dataclass(frozen=True)
class MintRequest:
    aud: str
    scopes: list[str]
    resource: str
    ttl_seconds: int


@dataclass(frozen=True)
class Minted:
    token: str
    claims: dict[str, Any]


class Fallback(Exception):
    """The fast path cannot decide: the full path runs instead (and answers exactly as it would)."""


# In the issuing transaction, with the key's row locked: None to issue, an error to refuse.
Check = Callable[[AsyncSession, str, str], Awaitable["BrokerError | None"]]


def _validate(state: BrokerState, aud: str, scopes: list[str], resource: str, ttl: int) -> tuple[str, list[str], str]:
    if not 1 <= ttl <= state.config.max_ttl:
        raise BadRequest("ttl_out_of_range", f"ttl_seconds must be 1-{state.config.max_ttl}")
    try:
        return validate_audience(aud), validate_scopes(scopes), validate_resource(resource)
    except ScopeError as exc:
        raise BadRequest("invalid_request", str(exc)) from None


async def _authenticate(state: BrokerState, info: RequestInfo, presented: str | None) -> tuple[ApiKeyRow, PrincipalRow]:
    """Check an API key. Failures count towards a lockout and are audited with the reason."""
    if not presented:
        await deny(state, info, Unauthorized("missing_key", "API key required"), actor="anonymous", action=MINT)
    try:
        parsed = parse_api_key(presented)
    except MalformedApiKey:
        await _fail(state, info, "malformed_key", Sensitive(presented))
    wait = state.key_limiter.check(parsed.key_id)
    if wait:
        await deny(
            state,
            info,
            TooManyRequests("rate_limited", "too many requests", retry_after=wait),
            actor=f"key:{parsed.key_id}",
            action=MINT,
        )
    now = state.now_dt()
    # The success path only reads: the key's last use is stamped in the issuing transaction, so a
    # mint costs one committed write. Failures update the counters under a row lock.
    async with state.db.transaction() as s:
        found = (
            await s.execute(
                select(ApiKeyRow, PrincipalRow)
                .outerjoin(PrincipalRow, PrincipalRow.id == ApiKeyRow.principal_id)
                .where(ApiKeyRow.key_id == parsed.key_id)
            )
        ).first()
    key, principal = (found[0], found[1]) if found is not None else (None, None)
    if key is None:
        verify_api_key_hash(state.keys().pepper, presented, _NO_KEY_HASH)  # the same work as a real check
        await _refuse_secret(state, info, parsed.key_id, now)
    elif key.locked_until is not None and key.locked_until > now:
        reason = "key_locked"
    elif not verify_api_key_hash(state.keys().pepper, presented, key.key_hash):
        await _refuse_secret(state, info, parsed.key_id, now)
    elif key.revoked_at is not None:
        reason = "key_revoked"
    elif key.expires_at is not None and key.expires_at <= now:
        reason = "key_expired"
    elif principal is None or principal.disabled:
        reason = "principal_disabled"
    else:
        if key.failed_attempts:
            async with state.db.transaction() as s:
                await s.execute(update(ApiKeyRow).where(ApiKeyRow.key_id == key.key_id).values(failed_attempts=0))
        state.verified_keys.remember(
            key.key_id, key.key_hash, principal.id, principal.name, KeyLimits.of(key, principal)
        )
        return key, principal
    await _fail(state, info, reason, f"key:{parsed.key_id}")


async def _refuse_secret(state: BrokerState, info: RequestInfo, key_id: str, now: datetime) -> NoReturn:
    """An unknown key and a wrong secret take the same path: one transaction that counts the failure
    (no row to count for an unknown key) and writes the audit row, and the same answer."""
    wait = max(state.fail_limiter.check(info.ip), state.ip_limiter.check(info.ip))
    error = Unauthorized(INVALID_KEY, "invalid API key")
    async with state.db.transaction() as s:
        key = await s.get(ApiKeyRow, key_id, with_for_update=True)
        reason = "unknown_key"
        if key is not None:
            key.failed_attempts += 1
            reason = "bad_secret"
            if key.failed_attempts >= state.config.lockout_threshold:
                key.locked_until = now + timedelta(seconds=state.config.lockout_seconds)
                key.failed_attempts = 0
                reason = "bad_secret_locked_out"
        if not wait:
            await record(state, info, actor=f"key:{key_id}", action=MINT, result="deny", reason=reason, session=s)
    if wait:
        limited = TooManyRequests("rate_limited", "too many failed attempts", retry_after=wait)
        await deny(state, info, limited, actor=f"key:{key_id}", action=MINT, details={"after": reason})
    error.audited = True
    raise error


async def _fail(state: BrokerState, info: RequestInfo, reason: str, who: str | Sensitive) -> NoReturn:
    wait = max(state.fail_limiter.check(info.ip), state.ip_limiter.check(info.ip))
    actor = who if isinstance(who, str) else "anonymous"
    details: dict[str, Any] = {} if isinstance(who, str) else {"presented": who}
    # Whether a key exists, is locked or has another secret is never told apart in the answer.
    code = INVALID_KEY if reason in SECRET_FAILURES else reason
    error = (
        TooManyRequests("rate_limited", "too many failed attempts", retry_after=wait)
        if wait
        else Unauthorized(code, "invalid API key")
    )
    if wait:
        details["after"] = reason
    await deny(state, info, error, actor=actor, action=MINT, details=details, reason=None if wait else reason)


def _ceiling_violations(key: ApiKeyRow, principal: PrincipalRow, scopes: list[str], resource: str) -> str | None:
    return limits_violation(KeyLimits.of(key, principal), scopes, resource)


def limits_violation(limits: KeyLimits, scopes: list[str], resource: str) -> str | None:
    """The first list that ``scopes`` on ``resource`` exceed, or None."""
    if check_ceiling(scopes, loads_list(limits.principal_scopes)):
        return "scope_exceeds_principal_ceiling"
    # A key's own list is never "unlimited": missing or empty grants nothing (keys from older versions).
    if check_ceiling(scopes, loads_list(limits.key_scopes) or []):
        return "scope_not_allowed_for_key"
    if check_ceiling([resource], loads_list(limits.principal_resources)):
        return "resource_exceeds_principal_ceiling"
    if check_ceiling([resource], loads_list(limits.key_resources)):
        return "resource_not_allowed_for_key"
    return None


async def mint(state: BrokerState, info: RequestInfo, presented: str | None, req: MintRequest) -> Minted:
    """The full path: authenticate against the database, then validate, check the ceilings and issue."""
    key, principal = await _authenticate(state, info, presented)
    actor = f"principal:{principal.name}"
    try:
        aud, scopes, resource = _validate(state, req.aud, req.scopes, req.resource, req.ttl_seconds)
    except BadRequest as exc:
        await deny(state, info, exc, actor=actor, action=MINT, details={"key_id": key.key_id})
    violation = _ceiling_violations(key, principal, scopes, resource)
    if violation:
        await deny(
            state,
            info,
            Forbidden(violation, "request exceeds what this key may mint"),
            actor=actor,
            action=MINT,
            resource=resource,
            details={"key_id": key.key_id, "scopes": scopes, "aud": aud},
        )
    who = (principal.id, actor, key.key_id)
    return await issue_mint(state, info, who, (aud, scopes, resource), req, key.last_used_at)


async def issue_mint(
    state: BrokerState,
    info: RequestInfo,
    who: tuple[str, str, str],
    what: tuple[str, list[str], str],
    req: MintRequest,
    last_used: datetime | None,
    check: Check | None = None,
) -> Minted:
    """Issue a minted token: ``who`` is (principal id, audit actor, key id), ``what`` the validated
    (audience, scopes, resource)."""
    (principal_id, actor, key_id), (aud, scopes, resource) = who, what
    return await _issue(
        state,
        info,
        actor=actor,
        action=MINT,
        principal_id=principal_id,
        key_id=key_id,
        aud=aud,
        scopes=scopes,
        resource=resource,
        ttl=req.ttl_seconds,
        parent=None,
        act=None,
        last_used=last_used,
        check=check,
    )


async def _issue(
    state: BrokerState,
    info: RequestInfo,
    *,
    actor: str,
    action: str,
    principal_id: str,
    key_id: str,
    aud: str,
    scopes: list[str],
    resource: str,
    ttl: int,
    parent: IssuedTokenRow | None,
    act: dict[str, Any] | None,
    last_used: datetime | None = None,
    details: dict[str, Any] | None = None,
    check: Check | None = None,
) -> Minted:
    """Sign the token and record it and its audit row in one transaction, after ``check`` (default:
    the key is not revoked and the resource not deleted). A check may raise :class:`Fallback`."""
    txn = parent.txn if parent is not None else info.trace_id
    token, claims = sign(state, (principal_id, key_id), (aud, scopes, resource), ttl, txn, act)
    now = int(claims["iat"])
    async with state.db.transaction() as s:
        refused = await (check or _recheck)(s, key_id, resource)
        if refused is None:
            stale = last_used is None or (state.now_dt() - last_used).total_seconds() >= LAST_USED_EVERY
            if parent is None and stale:
                await s.execute(update(ApiKeyRow).where(ApiKeyRow.key_id == key_id).values(last_used_at=state.now_dt()))
            await s.execute(
                insert(IssuedTokenRow).values(
                    jti=claims["jti"],
                    principal_id=principal_id,
                    key_id=key_id,
                    parent_jti=None if parent is None else parent.jti,
                    depth=0 if parent is None else parent.depth + 1,
                    audience=aud,
                    scope=claims["scope"],
                    resource=resource,
                    txn=txn,
                    issued_at=datetime.fromtimestamp(now, UTC),
                    expires_at=datetime.fromtimestamp(claims["exp"], UTC),
                )
            )
            await record(
                state,
                info,
                actor=actor,
                action=action,
                result="allow",
                resource=resource,
                session=s,
                details={
                    **issued_details(claims, key_id, scopes, ttl, None if parent is None else parent.jti),
                    **({"label": details["label"]} if details and "label" in details else {}),
                },
            )
    if refused is not None:
        await deny(state, info, refused, actor=actor, action=action, resource=resource, details={"key_id": key_id})
    return Minted(token, claims)


def sign(
    state: BrokerState,
    who: tuple[str, str],
    what: tuple[str, list[str], str],
    ttl: int,
    txn: str,
    act: dict[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """A signed token for ``who`` (principal id, key id) and ``what`` (audience, scopes, resource)."""
    (principal_id, key_id), (aud, scopes, resource) = who, what
    return mint_token(
        state.active_signing_key(),
        issuer=state.config.issuer,
        subject=principal_id,
        client_id=key_id,
        audience=aud,
        scopes=scopes,
        resource=resource,
        ttl_seconds=ttl,
        txn=txn,
        now=state.now(),
        act=act,
    )


def issued_details(
    claims: dict[str, Any], key_id: str, scopes: list[str], ttl: int, parent_jti: str | None
) -> dict[str, Any]:
    """The audit details of an issued token."""
    return {
        "jti": claims["jti"],
        "key_id": key_id,
        "aud": claims["aud"],
        "scopes": scopes,
        "ttl": ttl,
        "parent_jti": parent_jti,
    }


def resource_gone(resource: str) -> ScalarSelect[Any]:
    """1 when the resource has secrets and every one is deleted, else 0 or NULL (as a subquery)."""
    return (
        select(func.min(case((SecretRow.deleted_at.is_(None), 0), else_=1)))
        .where(SecretRow.resource == resource)
        .scalar_subquery()
    )


async def _recheck(s: AsyncSession, key_id: str, resource: str) -> BrokerError | None:
    """In the issuing transaction, with the key's row locked: a key revoked meanwhile mints nothing
    (its revocation either sees this token or is seen here), and neither does a resource whose
    secrets are all deleted."""
    gone = resource_gone(resource)
    row = (
        await s.execute(
            select(ApiKeyRow.revoked_at, gone).where(ApiKeyRow.key_id == key_id).with_for_update(of=ApiKeyRow)
        )
    ).first()
    if row is None or row[0] is not None:
        return Unauthorized("key_revoked", "invalid API key")
    if row[1] == 1:
        return Forbidden("resource_deleted", "every secret of that resource is deleted")
    return None
