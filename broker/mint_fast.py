"""The mint's fast path: a key verified before, one transaction (on PostgreSQL one statement).

The full path (:func:`broker.minting.mint`) reads the key and its principal in a transaction, then
issues in another. For a key this broker has verified before (broker.keycache) the presented key
is checked against the remembered hash, and the issuing transaction itself reads, with the key's
row locked, everything that can have changed since. Whenever that read finds anything but a plain
success (revoked, locked, expired, failed attempts to reset, a disabled principal, a ceiling
exceeded, a deleted resource, a bad request, a rate limit), nothing is written and the full path
runs instead, so every refusal is answered and audited exactly as before.

On PostgreSQL the issuing transaction is one statement (broker.mint_pg), which requires the key's
lists to be the ones checked here; when it cannot issue (the chain head kept moving, an error),
the transaction below runs instead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.apikeys import MalformedApiKey, parse_api_key, verify_api_key_hash
from broker.errors import BadRequest, BrokerError
from broker.guard import RequestInfo, from_request
from broker.keycache import VerifiedKey
from broker.mint_pg import LAST_USED_EVERY, Outcome, TokenRow
from broker.minting import (
    MINT,
    Fallback,
    Minted,
    MintRequest,
    _ceiling_violations,
    _validate,
    issue_mint,
    issued_details,
    limits_violation,
    mint,
    resource_gone,
    sign,
)
from broker.state import BrokerState
from storage.audit import AuditEvent
from storage.models import ApiKeyRow, PrincipalRow


async def mint_any(state: BrokerState, info: RequestInfo, presented: str | None, req: MintRequest) -> Minted:
    """Mint: the fast path when it can decide, else the full path."""
    try:
        return await _mint_verified(state, info, presented, req)
    except Fallback:
        return await mint(state, info, presented, req)


async def _mint_verified(state: BrokerState, info: RequestInfo, presented: str | None, req: MintRequest) -> Minted:
    if not presented:
        raise Fallback
    try:
        key_id = parse_api_key(presented).key_id
    except MalformedApiKey:
        raise Fallback from None
    known = state.verified_keys.get(key_id)
    if known is None or not verify_api_key_hash(state.keys().pepper, presented, known.key_hash):
        raise Fallback
    try:
        aud, scopes, resource = _validate(state, req.aud, req.scopes, req.resource, req.ttl_seconds)
    except BadRequest:
        raise Fallback from None
    if state.key_limiter.check(key_id):
        raise Fallback
    if not state.db.is_sqlite:
        minted = await _in_one_statement(state, info, (key_id, known), (aud, scopes, resource), req.ttl_seconds)
        if minted is not None:
            return minted
    now = state.now_dt()

    async def check(s: AsyncSession, kid: str, res: str) -> BrokerError | None:
        row = (
            await s.execute(
                select(ApiKeyRow, PrincipalRow, resource_gone(res))
                .join(PrincipalRow, PrincipalRow.id == ApiKeyRow.principal_id)
                .where(ApiKeyRow.key_id == kid)
                .with_for_update(of=ApiKeyRow)
            )
        ).first()
        if row is None:
            raise Fallback
        key, principal, deleted = row
        if (
            key.key_hash != known.key_hash
            or key.revoked_at is not None
            or (key.locked_until is not None and key.locked_until > now)
            or (key.expires_at is not None and key.expires_at <= now)
            or key.failed_attempts
            or principal.disabled
            or deleted == 1
            or _ceiling_violations(key, principal, scopes, res)
        ):
            raise Fallback
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() >= LAST_USED_EVERY:
            key.last_used_at = now  # flushed with the token's row, in this transaction
        return None

    who = (known.principal_id, f"principal:{known.principal_name}", key_id)
    return await issue_mint(state, info, who, (aud, scopes, resource), req, now, check)  # the check stamps last use


async def _in_one_statement(
    state: BrokerState, info: RequestInfo, key: tuple[str, VerifiedKey], what: tuple[str, list[str], str], ttl: int
) -> Minted | None:
    """Issue in one statement; None when it could not (nothing was written)."""
    (key_id, known), (aud, scopes, resource) = key, what
    if limits_violation(known.limits, scopes, resource):
        raise Fallback  # refused by the full path, which reads the lists afresh
    token, claims = sign(state, (known.principal_id, key_id), what, ttl, info.trace_id)
    details = issued_details(claims, key_id, scopes, ttl, None)
    actor = f"principal:{known.principal_name}"
    event = from_request(info, AuditEvent(actor=actor, action=MINT, result="allow", resource=resource, details=details))
    at = partial(datetime.fromtimestamp, tz=UTC)
    row = TokenRow(claims["jti"], aud, claims["scope"], resource, info.trace_id, at(claims["iat"]), at(claims["exp"]))
    outcome = await state.one_statement.issue(state.db, state.keys().audit, key, row, event, state.now_dt())
    if outcome is Outcome.CHANGED:
        raise Fallback
    return Minted(token, claims) if outcome is Outcome.ISSUED else None
