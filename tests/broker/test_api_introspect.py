"""Matrix 6: RFC 7662 introspection: caller authentication and the opaque ``{"active": false}``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from broker.tokens import mint_token
from tests.broker.conftest import Broker
from tests.broker.test_api_support import (
    assert_clean,
    assert_denied,
    bearer,
    details,
    token_for,
    unverified,
    verify,
)

pytestmark = pytest.mark.anyio
ACTION = "token.introspect"


async def _setup(broker: Broker) -> tuple[dict[str, str], str]:
    created = await broker.create_key("svc")
    return created, await token_for(broker, created["api_key"], scopes=["secrets.read", "repo.read"])


async def test_introspection_needs_an_authenticated_caller(broker: Broker) -> None:
    _, token = await _setup(broker)
    r = await broker.http.post("/v1/introspect", json={"token": token})
    await assert_denied(broker, r, 401, "admin_auth_failed", ACTION)
    r = await broker.http.post("/v1/introspect", json={"token": token}, headers={"X-Admin-Token": "wrong"})
    await assert_denied(broker, r, 401, "admin_auth_failed", ACTION)
    r = await broker.http.post("/v1/introspect", json={"token": token}, headers=bearer(token))
    await assert_denied(broker, r, 403, "insufficient_scope", ACTION)
    r = await broker.http.post("/v1/introspect", json={"token": token}, headers=bearer("garbage.not.jwt"))
    await assert_denied(broker, r, 401, "token_malformed", ACTION)


async def test_a_token_with_the_introspect_scope_may_introspect(broker: Broker) -> None:
    created, token = await _setup(broker)
    caller = await token_for(broker, created["api_key"], scopes=["tokens.introspect"], resource="service:gateway")
    r = await broker.http.post("/v1/introspect", json={"token": token}, headers=bearer(caller))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["active"] is True
    assert body == {"active": True, "token_type": "at+jwt", **(await verify(broker, token))}
    row = await broker.last_audit()
    assert (row["action"], row["result"], row["actor"]) == (ACTION, "allow", "principal:" + body["sub"])
    assert details(row)["jti"] == body["jti"]
    assert_clean(broker, str(row))


async def test_active_token_of_another_audience_returns_its_claims(broker: Broker) -> None:
    created, _ = await _setup(broker)
    token = await token_for(broker, created["api_key"], aud="billing")
    r = await broker.http.post("/v1/introspect", json={"token": token}, headers=broker.admin)
    assert r.json()["active"] is True and r.json()["aud"] == "billing"


async def _garbage(broker: Broker, created: dict[str, str], token: str) -> tuple[str, str]:
    return "not-a-token", "malformed"


async def _expired(broker: Broker, created: dict[str, str], token: str) -> tuple[str, str]:
    broker.clock.advance(301)
    return token, "expired"


async def _revoked(broker: Broker, created: dict[str, str], token: str) -> tuple[str, str]:
    jti = unverified(token)[1]["jti"]
    assert (await broker.http.post("/v1/revoke/token", json={"jti": jti}, headers=broker.admin)).status_code == 200
    return token, "revoked"


async def _unknown(broker: Broker, created: dict[str, str], token: str) -> tuple[str, str]:
    """Signed with the broker's own key, but never issued (no row in issued_tokens)."""
    claims = unverified(token)[1]
    forged, _ = mint_token(
        broker.state.active_signing_key(),
        issuer=claims["iss"],
        subject=claims["sub"],
        client_id=claims["client_id"],
        audience="aegis",
        scopes=["secrets.read"],
        resource="host:server1",
        ttl_seconds=300,
        txn="forged",
        now=int(broker.clock()),
    )
    return forged, "unknown_token"


async def _wrong_signature(broker: Broker, created: dict[str, str], token: str) -> tuple[str, str]:
    header, claims = unverified(token)
    return jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers=header), (
        "bad_signature"
    )


async def _key_revoked(broker: Broker, created: dict[str, str], token: str) -> tuple[str, str]:
    r = await broker.http.post("/v1/revoke/key", json={"key_id": created["key_id"]}, headers=broker.admin)
    assert r.status_code == 200 and r.json()["tokens_revoked"] == 1
    return token, "revoked"


async def _principal_disabled(broker: Broker, created: dict[str, str], token: str) -> tuple[str, str]:
    assert (await broker.http.post("/v1/principals/svc/disable", headers=broker.admin)).status_code == 200
    return token, "principal_disabled"


Case = Callable[[Broker, dict[str, str], str], Awaitable[tuple[str, str]]]
CASES: list[Case] = [_garbage, _expired, _revoked, _unknown, _wrong_signature, _key_revoked, _principal_disabled]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.strip("_") for c in CASES])
async def test_inactive_tokens_answer_only_active_false(broker: Broker, case: Case) -> None:
    created, token = await _setup(broker)
    assert (await broker.http.post("/v1/introspect", json={"token": token}, headers=broker.admin)).json()["active"]
    subject, reason = await case(broker, created, token)
    broker.secrets_seen.append(subject)
    r = await broker.http.post("/v1/introspect", json={"token": subject}, headers=broker.admin)
    assert r.status_code == 200
    assert r.json() == {"active": False}
    assert_clean(broker, r.text)
    row = await broker.last_audit()
    assert (row["action"], row["result"], row["reason"], row["actor"]) == (ACTION, "deny", reason, "admin")
    assert_clean(broker, str(row))


async def test_introspection_rejects_oversized_and_extra_fields(broker: Broker) -> None:
    r = await broker.http.post("/v1/introspect", json={"token": "a" * 20000}, headers=broker.admin)
    await assert_denied(broker, r, 413, "body_too_large", "http.request")
    r = await broker.http.post("/v1/introspect", json={"token": "x", "hint": "y"}, headers=broker.admin)
    await assert_denied(broker, r, 400, "invalid_request", ACTION)


async def test_a_principal_sees_only_tokens_it_may_see(broker: Broker) -> None:
    alice = await broker.create_key("alice")
    mallory = await broker.create_key("mallory")
    alices = await token_for(broker, alice["api_key"], scopes=["secrets.read"])
    for_mallory = await token_for(broker, alice["api_key"], aud="mallory")
    spy = await token_for(broker, mallory["api_key"], scopes=["tokens.introspect"], resource="service:gateway")
    r = await broker.http.post("/v1/introspect", json={"token": alices}, headers=bearer(spy))
    assert r.status_code == 200 and r.json() == {"active": False}
    row = await broker.last_audit()
    assert (row["action"], row["result"], row["reason"]) == (ACTION, "deny", "not_visible")
    assert_clean(broker, r.text)
    # A token addressed to mallory (a resource server checking what it was handed) is visible.
    r = await broker.http.post("/v1/introspect", json={"token": for_mallory}, headers=bearer(spy))
    assert r.json()["active"] is True and r.json()["aud"] == "mallory"
    # The admin sees everything.
    r = await broker.http.post("/v1/introspect", json={"token": alices}, headers=broker.admin)
    assert r.json()["active"] is True
