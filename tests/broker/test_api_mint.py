"""Matrix 1: minting allow/deny over real HTTP, each refusal audited and free of secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from broker.verify import VerificationError
from tests.broker.conftest import Broker, FakeClock
from tests.broker.test_api_support import (
    assert_clean,
    assert_denied,
    audit_dump,
    bearer,
    details,
    jwks,
    running_broker,
    unknown_key,
    unverified,
    verify,
    wrong_secret,
)

pytestmark = pytest.mark.anyio
MINT = "token.mint"
BASE: dict[str, Any] = {"aud": "aegis", "scopes": ["secrets.read"], "resource": "host:server1", "ttl_seconds": 300}


async def _key(broker: Broker, **body: Any) -> str:
    key: str = (await broker.create_key("svc", **body))["api_key"]
    return key


@pytest.mark.parametrize("missing", ["aud", "scopes", "resource", "ttl_seconds"])
async def test_every_field_is_mandatory(broker: Broker, missing: str) -> None:
    key = await _key(broker)
    body = {k: v for k, v in BASE.items() if k != missing}
    r = await broker.http.post("/v1/token", json=body, headers=bearer(key))
    await assert_denied(broker, r, 400, "invalid_request", MINT)
    assert missing in r.json()["message"]


@pytest.mark.parametrize("ttl", [0, 1801, -5])
async def test_ttl_out_of_range_is_rejected_never_clamped(broker: Broker, ttl: int) -> None:
    key = await _key(broker)
    r = await broker.mint(key, ttl_seconds=ttl)
    await assert_denied(broker, r, 400, "ttl_out_of_range", MINT)
    assert "access_token" not in r.json()


@pytest.mark.parametrize("ttl", [1, 1800])
async def test_ttl_bounds_are_inclusive(broker: Broker, ttl: int) -> None:
    key = await _key(broker)
    r = await broker.mint(key, ttl_seconds=ttl)
    assert r.status_code == 200, r.text
    claims = await verify(broker, r.json()["access_token"])
    assert claims["exp"] - claims["iat"] == ttl == r.json()["expires_in"]


@pytest.mark.parametrize(
    "change",
    [
        {"scopes": ["*"]},
        {"scopes": ["secrets.*"]},
        {"scopes": []},
        {"scopes": "secrets.read"},
        {"resource": "server1"},
        {"resource": "host:*"},
        {"resource": "host:../etc"},
        {"aud": ["aegis", "billing"]},
        {"aud": "*"},
        {"ttl_seconds": "forever"},
    ],
)
async def test_malformed_requests_are_rejected(broker: Broker, change: dict[str, Any]) -> None:
    key = await _key(broker)
    r = await broker.mint(key, **change)
    await assert_denied(broker, r, 400, "invalid_request", MINT)


async def test_scopes_beyond_the_keys_allowlist_are_forbidden(broker: Broker) -> None:
    key = await _key(broker, scopes=["secrets.read"])
    r = await broker.mint(key, scopes=["secrets.read", "secrets.write"])
    row = await assert_denied(broker, r, 403, "scope_not_allowed_for_key", MINT)
    assert row["actor"] == "principal:svc"


async def test_scopes_beyond_the_principal_ceiling_are_forbidden(broker: Broker) -> None:
    key = await _key(broker, max_scopes=["secrets.read"])
    assert (await broker.mint(key)).status_code == 200
    r = await broker.mint(key, scopes=["repo.read"])
    await assert_denied(broker, r, 403, "scope_exceeds_principal_ceiling", MINT)


async def test_an_empty_ceiling_denies_everything(broker: Broker) -> None:
    key = await _key(broker)
    r = await broker.http.put(
        "/v1/principals/svc/policy", json={"max_scopes": [], "max_resources": []}, headers=broker.admin
    )
    assert r.status_code == 200, r.text
    for scopes in (["secrets.read"], ["repo.read"], ["tokens.exchange"]):
        r = await broker.mint(key, scopes=scopes)
        await assert_denied(broker, r, 403, "scope_exceeds_principal_ceiling", MINT)


async def test_an_empty_resource_ceiling_denies_every_resource(broker: Broker) -> None:
    key = await _key(broker, max_resources=[])
    r = await broker.mint(key)
    await assert_denied(broker, r, 403, "resource_exceeds_principal_ceiling", MINT)


async def test_a_null_ceiling_is_unconstrained(broker: Broker) -> None:
    key = await _key(broker)
    for scopes, resource in ((["repo.read", "ssh.exec"], "host:a"), (["mail.send"], "secret:x")):
        r = await broker.mint(key, scopes=scopes, resource=resource)
        assert r.status_code == 200, r.text
        assert (await verify(broker, r.json()["access_token"]))["scope"] == " ".join(sorted(scopes))


async def test_key_resource_binding(broker: Broker) -> None:
    key = await _key(broker, resources=["host:server1"])
    assert (await broker.mint(key)).status_code == 200
    r = await broker.mint(key, resource="host:server2")
    await assert_denied(broker, r, 403, "resource_not_allowed_for_key", MINT)


async def test_principal_resource_ceiling(broker: Broker) -> None:
    key = await _key(broker, max_resources=["host:server1"])
    r = await broker.mint(key, resource="host:server2")
    await assert_denied(broker, r, 403, "resource_exceeds_principal_ceiling", MINT)


async def test_bad_secret(broker: Broker) -> None:
    key = await _key(broker)
    r = await broker.mint(wrong_secret(key))
    row = await assert_denied(broker, r, 401, "bad_secret", MINT, error="invalid_key")
    assert row["actor"] == "key:" + key.split("_")[1].split(".")[0]
    assert r.headers["WWW-Authenticate"] == "Bearer"


async def test_unknown_key_id(broker: Broker) -> None:
    await _key(broker)
    r = await broker.mint(unknown_key())
    await assert_denied(broker, r, 401, "unknown_key", MINT, error="invalid_key")


@pytest.mark.parametrize("presented", ["not-a-key", "aegk_0123456789abcdef.short", "aegk_" + "x" * 300])
async def test_malformed_key_is_audited_only_as_a_keyed_hash(broker: Broker, presented: str) -> None:
    r = await broker.mint(presented)
    row = await assert_denied(broker, r, 401, "malformed_key", MINT, error="invalid_key")
    assert details(row)["presented"].startswith("h:")
    dump = await audit_dump(broker)
    assert presented not in dump and presented not in r.text


async def test_missing_key(broker: Broker) -> None:
    r = await broker.http.post("/v1/token", json=BASE)
    await assert_denied(broker, r, 401, "missing_key", MINT)


async def test_revoked_key(broker: Broker) -> None:
    created = await broker.create_key("svc")
    r = await broker.http.post("/v1/revoke/key", json={"key_id": created["key_id"]}, headers=broker.admin)
    assert r.status_code == 200, r.text
    await assert_denied(broker, await broker.mint(created["api_key"]), 401, "key_revoked", MINT)


async def test_expired_key(broker: Broker) -> None:
    key = await _key(broker, expires_in_days=1)
    broker.clock.advance(86_400 - 10)
    assert (await broker.mint(key)).status_code == 200
    broker.clock.advance(11)
    await assert_denied(broker, await broker.mint(key), 401, "key_expired", MINT)


async def test_disabled_principal(broker: Broker) -> None:
    key = await _key(broker)
    r = await broker.http.post("/v1/principals/svc/disable", headers=broker.admin)
    assert r.status_code == 200 and r.json()["disabled"] is True
    await assert_denied(broker, await broker.mint(key), 401, "principal_disabled", MINT)


async def test_a_key_verified_before_is_refused_at_once_when_anything_changes(broker: Broker) -> None:
    """The fast path remembers only what never changes about a key: every change since is seen by
    the very next mint, which answers exactly as the full path does."""
    created = await broker.create_key("svc")
    key, key_id = created["api_key"], created["key_id"]
    assert (await broker.mint(key)).status_code == 200
    assert broker.state.verified_keys.get(key_id) is not None  # verified once: the next mint is fast
    assert (await broker.mint(key)).status_code == 200
    assert (await broker.mint(key[:-2] + "xx")).status_code == 401  # the secret is still checked
    policy = {"max_scopes": ["repo.read"], "max_resources": None}
    assert (await broker.http.put("/v1/principals/svc/policy", json=policy, headers=broker.admin)).status_code == 200
    await assert_denied(broker, await broker.mint(key), 403, "scope_exceeds_principal_ceiling", MINT)
    policy = {"max_scopes": None, "max_resources": None}
    assert (await broker.http.put("/v1/principals/svc/policy", json=policy, headers=broker.admin)).status_code == 200
    assert (await broker.mint(key)).status_code == 200
    assert (await broker.http.post("/v1/revoke/key", json={"key_id": key_id}, headers=broker.admin)).status_code == 200
    await assert_denied(broker, await broker.mint(key), 401, "key_revoked", MINT)
    rows = await broker.audit(action=MINT)
    assert [r["result"] for r in rows[:4]] == ["deny", "allow", "deny", "deny"]


async def test_an_api_key_authorizes_nothing_but_minting(broker: Broker) -> None:
    key = await _key(broker)
    r = await broker.http.get("/v1/secrets/x", headers=bearer(key))
    await assert_denied(broker, r, 401, "token_malformed", "secret.read")
    r = await broker.http.post("/v1/introspect", json={"token": key}, headers=bearer(key))
    await assert_denied(broker, r, 401, "token_malformed", "token.introspect")
    # /v1/secrets also takes a principal's token (secrets.list), so a key there fails as a token.
    for method, path, reason in (
        ("GET", "/v1/secrets", "token_malformed"),
        ("GET", "/v1/principals", "admin_auth_failed"),
        ("POST", "/v1/admin/seal", "admin_auth_failed"),
    ):
        r = await broker.http.request(method, path, headers=bearer(key))
        assert r.status_code == 401 and r.json()["error"] == reason
        row = await broker.last_audit()
        assert (row["result"], row["reason"], row["actor"]) == ("deny", reason, "anonymous")
        r = await broker.http.request(method, path, headers={"X-Admin-Token": key})
        assert r.status_code == 401
        row = await broker.last_audit()
        assert row["reason"] == "admin_auth_failed" and details(row)["presented"].startswith("h:")
        assert_clean(broker, r.text)
    assert key not in await audit_dump(broker)
    assert (await broker.http.get("/health")).json()["sealed"] is False


async def test_minted_token_profile(broker: Broker) -> None:
    created = await broker.create_key("svc")
    body = {**BASE, "scopes": ["secrets.read", "repo.read"], "ttl_seconds": 600}
    r = await broker.http.post(
        "/v1/token", json=body, headers={**bearer(created["api_key"]), "X-Trace-Id": "job-42.step_1"}
    )
    assert r.status_code == 200, r.text
    assert r.headers["X-Trace-Id"] == "job-42.step_1"
    assert r.headers["Cache-Control"] == "no-store"
    token = r.json()["access_token"]
    broker.secrets_seen.append(token)
    header, _ = unverified(token)
    assert header == {"alg": "ES256", "typ": "at+jwt", "kid": header["kid"]}
    assert header["kid"] in {k["kid"] for k in (await jwks(broker))["keys"]}
    claims = await verify(broker, token)
    assert set(claims) == {"iss", "sub", "client_id", "aud", "scope", "resource", "txn", "jti", "iat", "nbf", "exp"}
    assert claims["iss"] == "http://broker.test"
    assert claims["client_id"] == created["key_id"]
    assert claims["aud"] == "aegis" and isinstance(claims["aud"], str)
    assert claims["scope"] == "repo.read secrets.read"
    assert claims["resource"] == "host:server1"
    assert claims["txn"] == "job-42.step_1"
    assert claims["iat"] == claims["nbf"] == int(broker.clock())
    assert claims["exp"] == claims["iat"] + 600
    assert r.json()["jti"] == claims["jti"]
    row = await broker.last_audit()
    assert (row["action"], row["result"], row["trace_id"]) == (MINT, "allow", "job-42.step_1")
    assert details(row)["jti"] == claims["jti"]
    assert token not in await audit_dump(broker)
    principal = (await broker.http.get("/v1/principals/svc", headers=broker.admin)).json()
    assert claims["sub"] == principal["id"]
    with pytest.raises(VerificationError) as err:
        await verify(broker, token, audience="other")
    assert err.value.code == "bad_audience"


async def test_a_malformed_trace_id_is_replaced(broker: Broker) -> None:
    key = await _key(broker)
    r = await broker.http.post("/v1/token", json=BASE, headers={**bearer(key), "X-Trace-Id": "bad id\t;"})
    assert r.status_code == 200
    broker.secrets_seen.append(r.json()["access_token"])
    trace = r.headers["X-Trace-Id"]
    assert trace != "bad id\t;" and len(trace) == 32
    assert (await verify(broker, r.json()["access_token"]))["txn"] == trace


async def test_unknown_key_and_wrong_secret_look_the_same(db_url: str, tmp_path: Path, clock: FakeClock) -> None:
    """Same code, same message, same headers, and the same work (one counted, audited transaction)."""
    import statistics
    import time

    async with running_broker(
        db_url, tmp_path, clock, auth_fail_burst=1000, ip_burst=1000, lockout_threshold=1000
    ) as b:
        key = (await b.create_key("svc"))["api_key"]
        answers: set[tuple[int, str, str | None]] = set()
        timings: dict[str, list[float]] = {"unknown": [], "wrong": []}
        for i in range(40):
            for kind, presented in (("unknown", unknown_key(i)), ("wrong", wrong_secret(key, i))):
                t0 = time.perf_counter()
                r = await b.mint(presented)
                timings[kind].append(time.perf_counter() - t0)
                answers.add((r.status_code, r.text, r.headers.get("WWW-Authenticate")))
        assert answers == {(401, '{"error":"invalid_key","message":"invalid API key"}', "Bearer")}
        ratio = statistics.median(timings["wrong"]) / statistics.median(timings["unknown"])
        assert 0.75 < ratio < 1.3, ratio
