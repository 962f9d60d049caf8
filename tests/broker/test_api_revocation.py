"""Matrix 8 and 12: revocation of tokens and keys, principal disable, policy updates, and races."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.broker.conftest import Broker
from tests.broker.test_api_support import (
    add_secret,
    assert_denied,
    details,
    introspect,
    read_secret,
    token_for,
    unverified,
)

pytestmark = pytest.mark.anyio
VALUE = "revocation-canary-77"


async def _setup(broker: Broker) -> tuple[dict[str, str], str]:
    await add_secret(broker, "db", VALUE, resource="host:server1")
    created = await broker.create_key("svc")
    return created, await token_for(broker, created["api_key"])


async def test_revoke_a_token_by_jti(broker: Broker) -> None:
    created, token = await _setup(broker)
    other = await token_for(broker, created["api_key"])
    jti = unverified(token)[1]["jti"]
    r = await broker.http.post("/v1/revoke/token", json={"jti": jti, "reason": "leaked"}, headers=broker.admin)
    assert r.status_code == 200 and r.json() == {"revoked": 1}
    row = await broker.last_audit()
    assert (row["action"], row["result"], row["reason"]) == ("token.revoke", "allow", "leaked")
    assert details(row)["jti"] == jti
    await assert_denied(broker, await read_secret(broker, "db", token), 401, "token_revoked", "secret.read")
    assert await introspect(broker, token) == {"active": False}
    assert (await read_secret(broker, "db", other)).json()["value"] == VALUE
    again = await broker.http.post("/v1/revoke/token", json={"jti": jti}, headers=broker.admin)
    assert again.status_code == 200 and again.json() == {"revoked": 0}


async def test_revoking_an_unknown_jti_is_404(broker: Broker) -> None:
    r = await broker.http.post("/v1/revoke/token", json={"jti": "0" * 32}, headers=broker.admin)
    row = await assert_denied(broker, r, 404, "unknown_token", "token.revoke")
    assert row["actor"] == "admin"
    r = await broker.http.post("/v1/revoke/token", json={"jti": "0" * 32})
    await assert_denied(broker, r, 401, "admin_auth_failed", "token.revoke")


async def test_revoking_a_key_revokes_its_live_tokens(broker: Broker) -> None:
    created, token = await _setup(broker)
    second = await token_for(broker, created["api_key"])
    bystander = await token_for(broker, (await broker.create_key("other"))["api_key"])
    r = await broker.http.post("/v1/revoke/key", json={"key_id": created["key_id"]}, headers=broker.admin)
    assert r.status_code == 200 and r.json() == {"revoked": True, "tokens_revoked": 2}
    for t in (token, second):
        assert await introspect(broker, t) == {"active": False}
        await assert_denied(broker, await read_secret(broker, "db", t), 401, "token_revoked", "secret.read")
    await assert_denied(broker, await broker.mint(created["api_key"]), 401, "key_revoked", "token.mint")
    assert (await introspect(broker, bystander))["active"] is True
    r = await broker.http.post("/v1/revoke/key", json={"key_id": "f" * 16}, headers=broker.admin)
    await assert_denied(broker, r, 404, "unknown_key", "key.revoke")
    detail = (await broker.http.get("/v1/principals/svc", headers=broker.admin)).json()
    assert detail["keys"][0]["revoked"] is True
    assert created["api_key"] not in str(detail) and "hash" not in str(detail)


async def test_disabling_a_principal(broker: Broker) -> None:
    created, token = await _setup(broker)
    r = await broker.http.post("/v1/principals/svc/disable", headers=broker.admin)
    assert r.status_code == 200 and r.json()["disabled"] is True
    row = await broker.last_audit()
    assert (row["action"], row["result"], row["resource"]) == ("principal.disable", "allow", "principal:svc")
    assert await introspect(broker, token) == {"active": False}
    r = await read_secret(broker, "db", token)
    await assert_denied(broker, r, 401, "token_principal_disabled", "secret.read")
    await assert_denied(broker, await broker.mint(created["api_key"]), 401, "principal_disabled", "token.mint")
    r = await broker.http.post("/v1/keys", json={"principal": "svc", "scopes": ["secrets.read"]}, headers=broker.admin)
    await assert_denied(broker, r, 409, "principal_disabled", "key.create")
    r = await broker.http.post("/v1/principals/nobody/disable", headers=broker.admin)
    await assert_denied(broker, r, 404, "unknown_principal", "principal.disable")


async def test_a_policy_update_changes_what_can_be_minted_next(broker: Broker) -> None:
    created, _ = await _setup(broker)
    key = created["api_key"]
    policy = {"max_scopes": ["repo.read"], "max_resources": None}
    r = await broker.http.put("/v1/principals/svc/policy", json=policy, headers=broker.admin)
    assert r.status_code == 200 and r.json()["max_scopes"] == ["repo.read"]
    row = await broker.last_audit()
    assert details(row) == {
        "before": {"max_scopes": None, "max_resources": None},
        "after": {"max_scopes": ["repo.read"], "max_resources": None},
    }
    await assert_denied(broker, await broker.mint(key), 403, "scope_exceeds_principal_ceiling", "token.mint")
    assert (await broker.mint(key, scopes=["repo.read"])).status_code == 200
    r = await broker.http.put(
        "/v1/principals/svc/policy", json={"max_scopes": None, "max_resources": ["host:a"]}, headers=broker.admin
    )
    assert r.status_code == 200
    await assert_denied(broker, await broker.mint(key), 403, "resource_exceeds_principal_ceiling", "token.mint")
    assert (await broker.mint(key, resource="host:a")).status_code == 200
    bad = {"max_scopes": ["secrets.*"], "max_resources": None}
    r = await broker.http.put("/v1/principals/svc/policy", json=bad, headers=broker.admin)
    await assert_denied(broker, r, 400, "invalid_request", "principal.policy")


async def test_a_narrowed_ceiling_also_binds_tokens_already_issued(broker: Broker) -> None:
    """The ceiling is absolute: a live token beyond the new ceiling is no longer honoured."""
    _, token = await _setup(broker)
    assert (await read_secret(broker, "db", token)).status_code == 200
    policy = {"max_scopes": ["repo.read"], "max_resources": None}
    assert (await broker.http.put("/v1/principals/svc/policy", json=policy, headers=broker.admin)).status_code == 200
    assert await introspect(broker, token) == {"active": False}
    r = await read_secret(broker, "db", token)
    await assert_denied(broker, r, 401, "token_exceeds_ceiling", "secret.read")
    policy = {"max_scopes": ["secrets.read"], "max_resources": ["host:other"]}
    assert (await broker.http.put("/v1/principals/svc/policy", json=policy, headers=broker.admin)).status_code == 200
    await assert_denied(broker, await read_secret(broker, "db", token), 401, "token_exceeds_ceiling", "secret.read")
    policy = {"max_scopes": None, "max_resources": None}
    assert (await broker.http.put("/v1/principals/svc/policy", json=policy, headers=broker.admin)).status_code == 200
    assert (await read_secret(broker, "db", token)).json()["value"] == VALUE


async def test_concurrent_mints_racing_a_key_revocation(broker: Broker) -> None:
    created = await broker.create_key("svc")
    key = created["api_key"]

    async def revoke() -> httpx.Response:
        return await broker.http.post("/v1/revoke/key", json={"key_id": created["key_id"]}, headers=broker.admin)

    results = await asyncio.gather(
        *(broker.mint(key) for _ in range(10)), revoke(), *(broker.mint(key) for _ in range(10))
    )
    revoked = results[10]
    assert revoked.status_code == 200, revoked.text
    mints = results[:10] + results[11:]
    # Refusals are key_revoked, or (past the per-IP failure burst) rate_limited.
    refused = [r for r in mints if r.status_code != 200]
    assert {(r.status_code, r.json()["error"]) for r in refused} <= {(401, "key_revoked"), (429, "rate_limited")}
    rows = [x for x in await broker.audit(action="token.mint", result="deny") if x["reason"] == "rate_limited"]
    assert all(details(x)["after"] == "key_revoked" for x in rows)
    minted = [r.json()["access_token"] for r in mints if r.status_code == 200]
    assert len(minted) + len(refused) == 20
    for token in minted:  # whether issued before or after the revocation committed, none is live now
        assert await introspect(broker, token) == {"active": False}
    broker.clock.advance(60)
    await assert_denied(broker, await broker.mint(key), 401, "key_revoked", "token.mint")
