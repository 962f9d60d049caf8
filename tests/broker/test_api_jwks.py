"""Matrix 4: the JWKS, verification with the published keys, and signing-key rotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.verify import KeySet, VerificationError, verify_token
from tests.broker.conftest import Broker, FakeClock
from tests.broker.test_api_support import (
    add_secret,
    details,
    jwks,
    read_secret,
    running_broker,
    token_for,
    unverified,
    verify,
)

pytestmark = pytest.mark.anyio
PUBLIC_MEMBERS = {"kty", "crv", "x", "y", "kid", "alg", "use"}


async def test_jwks_has_only_public_members(broker: Broker) -> None:
    r = await broker.http.get("/.well-known/jwks.json")
    assert r.status_code == 200
    assert "public" in r.headers["Cache-Control"]
    doc = r.json()
    assert set(doc) == {"keys"} and len(doc["keys"]) == 1
    for jwk in doc["keys"]:
        assert set(jwk) == PUBLIC_MEMBERS
        assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")
    assert (await broker.http.get("/health")).json()["active_kid"] == doc["keys"][0]["kid"]


async def test_a_minted_token_verifies_against_the_published_jwks(broker: Broker) -> None:
    key = (await broker.create_key("svc"))["api_key"]
    token = await token_for(broker, key)
    keys = KeySet.from_jwks(await jwks(broker))
    claims = verify_token(token, keys=keys, issuer="http://broker.test", audience="aegis", now=int(broker.clock()))
    assert claims["scope"] == "secrets.read"
    with pytest.raises(VerificationError):
        verify_token(token, keys=keys, issuer="http://evil.test", audience="aegis", now=int(broker.clock()))
    with pytest.raises(VerificationError):
        verify_token(token, keys=KeySet.from_jwks({"keys": []}), issuer="http://broker.test", audience="aegis")


async def test_signing_key_rotation(broker: Broker, db_url: str, tmp_path: Path, clock: FakeClock) -> None:
    await add_secret(broker, "db-pass", "s3cret-rotation-canary", resource="host:server1")
    key = (await broker.create_key("svc"))["api_key"]
    old_token = await token_for(broker, key, ttl_seconds=600)
    (old_kid,) = [k["kid"] for k in (await jwks(broker))["keys"]]

    r = await broker.http.post("/v1/admin/signing-key/rotate", headers=broker.admin)
    assert r.status_code == 200, r.text
    new_kid = r.json()["active_kid"]
    assert new_kid != old_kid and r.json()["retiring"] == [old_kid]
    row = await broker.last_audit()
    assert (row["action"], row["result"]) == ("signing_key.rotate", "allow")
    assert details(row)["new_kid"] == new_kid
    assert {k["kid"] for k in (await jwks(broker))["keys"]} == {old_kid, new_kid}

    # Tokens signed before the rotation keep working until they expire.
    assert (await verify(broker, old_token))["jti"]
    assert (await read_secret(broker, "db-pass", old_token)).status_code == 200
    new_token = await token_for(broker, key)
    assert unverified(new_token)[0]["kid"] == new_kid
    assert (await read_secret(broker, "db-pass", new_token)).json()["value"] == "s3cret-rotation-canary"
    broker.clock.advance(500)
    assert (await read_secret(broker, "db-pass", old_token)).status_code == 200
    broker.clock.advance(101)
    assert (await read_secret(broker, "db-pass", old_token)).json()["error"] == "token_expired"

    # After max_ttl + leeway, the next reload drops the old public key.
    broker.clock.advance(1800 + 60)
    async with running_broker(db_url, tmp_path, clock) as restarted:
        assert {k["kid"] for k in (await jwks(restarted))["keys"]} == {new_kid}
    assert old_kid not in {k["kid"] for k in (await jwks(broker))["keys"]}  # gone without a reload
    third = (await broker.http.post("/v1/admin/signing-key/rotate", headers=broker.admin)).json()["active_kid"]
    assert {k["kid"] for k in (await jwks(broker))["keys"]} == {new_kid, third}
    with pytest.raises(VerificationError) as err:
        await verify(broker, old_token)
    assert err.value.code == "unknown_kid"


async def test_a_retiring_key_is_kept_for_max_ttl_plus_leeway(broker: Broker) -> None:
    old_kid = (await jwks(broker))["keys"][0]["kid"]
    await broker.http.post("/v1/admin/signing-key/rotate", headers=broker.admin)
    broker.clock.advance(1800 + 60 - 1)
    await broker.http.post("/v1/admin/signing-key/rotate", headers=broker.admin)
    assert old_kid in {k["kid"] for k in (await jwks(broker))["keys"]}


async def test_signing_key_rotation_needs_the_admin_token(broker: Broker) -> None:
    before = await jwks(broker)
    r = await broker.http.post("/v1/admin/signing-key/rotate", headers={"X-Admin-Token": "nope"})
    assert r.status_code == 401
    row = await broker.last_audit()
    assert (row["action"], row["result"], row["reason"]) == ("signing_key.rotate", "deny", "admin_auth_failed")
    assert await jwks(broker) == before
