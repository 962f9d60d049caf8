"""RFC 8693 token exchange: a token for a narrower, shorter-lived one, acted for by the caller."""

from __future__ import annotations

from typing import Any

from broker.errors import BadRequest, Forbidden, Unauthorized
from broker.guard import RequestInfo, deny, loads_list, token_is_active
from broker.minting import EXCHANGE, EXCHANGE_SCOPE, MAX_DEPTH, Minted, _ceiling_violations, _issue, _validate
from broker.scopes import ScopeError, check_ceiling, validate_resource
from broker.state import BrokerState
from broker.verify import VerificationError
from storage.models import ApiKeyRow, IssuedTokenRow, PrincipalRow


async def exchange(
    state: BrokerState,
    info: RequestInfo,
    *,
    subject_token: str,
    audience: str,
    scopes: list[str],
    resource: str,
    ttl_seconds: int | None,
    label: str | None,
    actor_token: str | None = None,
) -> Minted:
    """RFC 8693: derive a job-scoped token. Scopes only narrow, exp never exceeds the parent's.

    ``act.sub`` is the authenticated caller, never a name it supplies: the principal of
    ``actor_token`` when given (allowed only if the subject token's ``may_act`` names it), else the
    subject token's own principal. ``label`` (e.g. ``job:sync_emails``) is recorded in the audit row only.
    """
    try:
        parent_claims = state.verify_own_token(subject_token)
    except VerificationError as exc:
        await deny(
            state,
            info,
            Unauthorized(f"subject_{exc.code}", "invalid subject_token"),
            actor="anonymous",
            action=EXCHANGE,
        )
    actor = f"principal:{parent_claims['sub']}"
    details: dict[str, Any] = {"parent_jti": parent_claims["jti"]}
    act_sub = str(parent_claims["sub"])
    if actor_token is not None:
        act_sub = await _actor_of(state, info, actor_token, parent_claims, actor, details)
    async with state.db.transaction() as s:
        reason = await token_is_active(s, parent_claims, state.now())
        parent = await s.get(IssuedTokenRow, parent_claims["jti"])
        key = await s.get(ApiKeyRow, str(parent_claims["client_id"]))
        principal = await s.get(PrincipalRow, str(parent_claims["sub"]))
    if reason is not None or parent is None or key is None or principal is None:
        await deny(
            state,
            info,
            Unauthorized(f"subject_{reason or 'unknown'}", "invalid subject_token"),
            actor=actor,
            action=EXCHANGE,
            details=details,
        )
    parent_scopes = str(parent_claims["scope"]).split()
    if EXCHANGE_SCOPE not in parent_scopes:
        await deny(
            state,
            info,
            Forbidden("exchange_not_allowed", f"subject_token lacks {EXCHANGE_SCOPE}"),
            actor=actor,
            action=EXCHANGE,
            details=details,
        )
    if parent.depth + 1 > MAX_DEPTH:
        await deny(
            state,
            info,
            BadRequest("chain_too_deep", f"delegation chains are at most {MAX_DEPTH} deep"),
            actor=actor,
            action=EXCHANGE,
            details=details,
        )
    remaining = int(parent_claims["exp"]) - state.now()
    ttl = remaining if ttl_seconds is None else ttl_seconds
    try:
        aud, wanted, res = _validate(state, audience, scopes, resource, ttl)
        if label:
            details["label"] = validate_resource(label)
    except (BadRequest, ScopeError) as exc:
        err = exc if isinstance(exc, BadRequest) else BadRequest("invalid_request", str(exc))
        await deny(state, info, err, actor=actor, action=EXCHANGE, details=details)
    if check_ceiling(wanted, parent_scopes):
        await deny(
            state,
            info,
            Forbidden("scope_not_narrowing", "scopes may only narrow"),
            actor=actor,
            action=EXCHANGE,
            details={**details, "scopes": wanted},
        )
    if res != parent_claims["resource"]:
        # Like scopes, the resource only narrows: a token bound to one resource must not yield one for another.
        await deny(
            state,
            info,
            Forbidden("resource_not_narrowing", "the resource must be the subject_token's resource"),
            actor=actor,
            action=EXCHANGE,
            resource=res,
            details=details,
        )
    # RFC 8693: a token is exchanged only for its own audience or one its principal may act for.
    may_act_for = set(loads_list(principal.may_act_for) or [])
    if aud != parent_claims["aud"] and aud not in may_act_for:
        await deny(
            state,
            info,
            Forbidden("audience_not_allowed", "the subject token's principal may not act for that audience"),
            actor=actor,
            action=EXCHANGE,
            resource=res,
            details={**details, "aud": aud},
        )
    violation = _ceiling_violations(key, principal, wanted, res)
    if violation:
        await deny(
            state,
            info,
            Forbidden(violation, "request exceeds the principal's ceiling"),
            actor=actor,
            action=EXCHANGE,
            resource=res,
            details=details,
        )
    ttl = min(ttl, remaining)
    if ttl < 1:
        await deny(
            state,
            info,
            Unauthorized("subject_expired", "invalid subject_token"),
            actor=actor,
            action=EXCHANGE,
            details=details,
        )
    act: dict[str, Any] = {"sub": act_sub}
    if "act" in parent_claims:
        act["act"] = parent_claims["act"]
    return await _issue(
        state,
        info,
        actor=actor,
        action=EXCHANGE,
        details=details,
        principal_id=principal.id,
        key_id=key.key_id,
        aud=aud,
        scopes=wanted,
        resource=res,
        ttl=ttl,
        parent=parent,
        act=act,
    )


async def _actor_of(
    state: BrokerState,
    info: RequestInfo,
    actor_token: str,
    subject: dict[str, Any],
    actor: str,
    details: dict[str, Any],
) -> str:
    """The principal an actor token authenticates, if the subject token lets it act (``may_act``)."""
    try:
        claims = state.verify_own_token(actor_token)
    except VerificationError as exc:
        await deny(state, info, Unauthorized(f"actor_{exc.code}", "invalid actor_token"), actor=actor, action=EXCHANGE)
    async with state.db.transaction() as s:
        reason = await token_is_active(s, claims, state.now())
    if reason is not None:
        await deny(state, info, Unauthorized(f"actor_{reason}", "invalid actor_token"), actor=actor, action=EXCHANGE)
    who = str(claims["sub"])
    may_act = subject.get("may_act")
    if who != subject["sub"] and not (isinstance(may_act, dict) and may_act.get("sub") == who):
        await deny(
            state,
            info,
            Forbidden("actor_not_allowed", "the subject token does not let this caller act for it (may_act)"),
            actor=actor,
            action=EXCHANGE,
            details={**details, "actor": who},
        )
    return who
