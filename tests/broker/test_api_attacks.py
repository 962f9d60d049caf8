"""Matrix 5: JWT attacks against the secret read endpoint and the token exchange endpoint."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.broker.conftest import Broker
from tests.broker.test_api_support import (
    add_secret,
    assert_denied,
    b64url,
    b64url_json,
    exchange,
    jwks,
    read_secret,
    token_for,
    unverified,
)

pytestmark = pytest.mark.anyio
SCOPES = ["secrets.read", "tokens.exchange"]
VALUE = "attack-target-value-7f3a"


async def _setup(broker: Broker) -> tuple[str, str]:
    await add_secret(broker, "target", VALUE, resource="host:server1")
    key = (await broker.create_key("svc"))["api_key"]
    return key, await token_for(broker, key, scopes=SCOPES)


def _resign(header: dict[str, object], claims: dict[str, object], signature: str) -> str:
    return f"{b64url_json(header)}.{b64url_json(claims)}.{signature}"


async def _alg_none(broker: Broker, key: str, token: str) -> str:
    header, claims = unverified(token)
    return _resign({**header, "alg": "none"}, claims, "")


async def _alg_none_with_signature(broker: Broker, key: str, token: str) -> str:
    header, claims = unverified(token)
    return _resign({**header, "alg": "none"}, claims, token.split(".")[2])


async def _hs256_with_public_key(broker: Broker, key: str, token: str) -> str:
    header, claims = unverified(token)
    jwk = (await jwks(broker))["keys"][0]
    signing_input = f"{b64url_json({**header, 'alg': 'HS256'})}.{b64url_json(claims)}"
    secret = json.dumps(jwk, separators=(",", ":")).encode()
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


async def _foreign_key_real_kid(broker: Broker, key: str, token: str) -> str:
    header, claims = unverified(token)
    return jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers=header)


async def _jku_injection(broker: Broker, key: str, token: str) -> str:
    header, claims = unverified(token)
    foreign = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims, foreign, algorithm="ES256", headers={**header, "jku": "https://evil.test/jwks"})


async def _unknown_kid(broker: Broker, key: str, token: str) -> str:
    header, claims = unverified(token)
    return jwt.encode(
        claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={**header, "kid": "x"}
    )


async def _other_audience(broker: Broker, key: str, token: str) -> str:
    return await token_for(broker, key, scopes=SCOPES, aud="billing")


async def _tampered_payload(broker: Broker, key: str, token: str) -> str:
    header, claims = unverified(token)
    forged = {**claims, "scope": "secrets.read secrets.write tokens.exchange", "resource": "host:server2"}
    return _resign(header, forged, token.split(".")[2])


async def _expired(broker: Broker, key: str, token: str) -> str:
    broker.clock.advance(300 + 61)
    return token


async def _revoked(broker: Broker, key: str, token: str) -> str:
    jti = unverified(token)[1]["jti"]
    r = await broker.http.post("/v1/revoke/token", json={"jti": jti}, headers=broker.admin)
    assert r.status_code == 200 and r.json()["revoked"] == 1
    return token


Attack = Callable[[Broker, str, str], Awaitable[str]]
ATTACKS: list[tuple[Attack, str]] = [
    (_alg_none, "malformed"),
    (_alg_none_with_signature, "bad_alg"),
    (_hs256_with_public_key, "bad_alg"),
    (_foreign_key_real_kid, "bad_signature"),
    (_jku_injection, "bad_header"),
    (_unknown_kid, "unknown_kid"),
    (_other_audience, "bad_audience"),
    (_tampered_payload, "bad_signature"),
    (_expired, "expired"),
    (_revoked, "revoked"),
]


async def _read(broker: Broker, token: str) -> httpx.Response:
    return await read_secret(broker, "target", token)


async def _exchange(broker: Broker, token: str) -> httpx.Response:
    return await exchange(broker, token)


@pytest.mark.parametrize(("attack", "code"), ATTACKS, ids=[a.__name__.strip("_") for a, _ in ATTACKS])
async def test_attack_on_secret_read(broker: Broker, attack: Attack, code: str) -> None:
    key, token = await _setup(broker)
    assert (await _read(broker, token)).status_code == 200
    forged = await attack(broker, key, token)
    broker.secrets_seen.append(forged)
    r = await _read(broker, forged)
    await assert_denied(broker, r, 401, f"token_{code}", "secret.read")
    assert VALUE not in r.text
    assert r.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("attack", "code"), ATTACKS, ids=[a.__name__.strip("_") for a, _ in ATTACKS])
async def test_attack_on_token_exchange(broker: Broker, attack: Attack, code: str) -> None:
    key, token = await _setup(broker)
    forged = await attack(broker, key, token)
    broker.secrets_seen.append(forged)
    r = await _exchange(broker, forged)
    await assert_denied(broker, r, 401, f"subject_{code}", "token.exchange")
    assert "access_token" not in r.json()


async def test_a_token_without_the_read_scope_is_forbidden(broker: Broker) -> None:
    await add_secret(broker, "target", VALUE, resource="host:server1")
    key = (await broker.create_key("svc"))["api_key"]
    token = await token_for(broker, key, scopes=["repo.read"])
    r = await read_secret(broker, "target", token)
    await assert_denied(broker, r, 403, "insufficient_scope", "secret.read")
    assert r.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'


@pytest.mark.parametrize("header", ["", "Bearer", "Basic abc", "Token abc", "bearer"])
async def test_missing_or_malformed_authorization(broker: Broker, header: str) -> None:
    await add_secret(broker, "target", VALUE, resource="host:server1")
    r = await broker.http.get("/v1/secrets/target", headers={"Authorization": header} if header else {})
    await assert_denied(broker, r, 401, "missing_token", "secret.read")
