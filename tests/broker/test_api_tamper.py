"""Matrix 9 (storage side): tampered, swapped or missing ciphertext never decrypts, leaks or crashes.

Choice: the broker answers 500 with the JSON error ``integrity_failure`` (a BrokerError, audited as a
deny), not an unhandled exception: the request was fine, the stored data is not, so retrying (503)
would not help.
"""

from __future__ import annotations

import pytest

from tests.broker.conftest import Broker
from tests.broker.test_api_support import add_secret, assert_denied, read_secret, sql, token_for

pytestmark = pytest.mark.anyio
A_VALUE, B_VALUE = "alpha-canary-0001", "bravo-canary-0002"
VERSION_OF = (
    "SELECT v.id, v.wrapped_dek, v.value FROM secret_versions v JOIN secrets s ON s.id = v.secret_id "
    "WHERE s.name = :name ORDER BY v.version DESC"
)


async def _setup(broker: Broker) -> str:
    await add_secret(broker, "alpha", A_VALUE, resource="host:server1")
    await add_secret(broker, "bravo", B_VALUE, resource="host:server1")
    key = (await broker.create_key("reader"))["api_key"]
    token = await token_for(broker, key)
    assert (await read_secret(broker, "bravo", token)).json()["value"] == B_VALUE
    return token


def _flip(blob: bytes, at: int) -> bytes:
    return blob[:at] + bytes([blob[at] ^ 0x01]) + blob[at + 1 :]


async def _expect_integrity_failure(broker: Broker, token: str, name: str = "bravo") -> None:
    r = await read_secret(broker, name, token)
    await assert_denied(broker, r, 500, "integrity_failure", "secret.read")
    assert r.headers["content-type"] == "application/json"
    assert A_VALUE not in r.text and B_VALUE not in r.text


@pytest.mark.parametrize("column", ["value", "wrapped_dek"])
@pytest.mark.parametrize("where", ["header", "nonce", "last"])
async def test_a_flipped_byte_is_refused(broker: Broker, column: str, where: str) -> None:
    token = await _setup(broker)
    vid, dek, value = (await sql(broker, VERSION_OF, name="bravo"))[0]
    blob = bytes(value if column == "value" else dek)
    at = {"header": 3, "nonce": 2 + blob[1] + 1, "last": len(blob) - 1}[where]
    await sql(broker, f"UPDATE secret_versions SET {column} = :b WHERE id = :id", b=_flip(blob, at), id=vid)
    await _expect_integrity_failure(broker, token)
    # The other secret is unaffected.
    assert (await read_secret(broker, "alpha", token)).json()["value"] == A_VALUE


async def test_a_row_swap_is_refused(broker: Broker) -> None:
    token = await _setup(broker)
    _, a_dek, a_value = (await sql(broker, VERSION_OF, name="alpha"))[0]
    b_id, _, _ = (await sql(broker, VERSION_OF, name="bravo"))[0]
    await sql(
        broker, "UPDATE secret_versions SET wrapped_dek = :d, value = :v WHERE id = :id", d=a_dek, v=a_value, id=b_id
    )
    await _expect_integrity_failure(broker, token)


async def test_a_value_swap_under_the_right_data_key_is_refused(broker: Broker) -> None:
    token = await _setup(broker)
    _, _, a_value = (await sql(broker, VERSION_OF, name="alpha"))[0]
    b_id, _, _ = (await sql(broker, VERSION_OF, name="bravo"))[0]
    await sql(broker, "UPDATE secret_versions SET value = :v WHERE id = :id", v=a_value, id=b_id)
    await _expect_integrity_failure(broker, token)


async def test_an_old_version_replayed_into_the_current_row_is_refused(broker: Broker) -> None:
    token = await _setup(broker)
    broker.secrets_seen.append("bravo-canary-v2")
    assert (
        await broker.http.put("/v1/secrets/bravo", json={"value": "bravo-canary-v2"}, headers=broker.admin)
    ).is_success
    (v2_id, _, _), (_, v1_dek, v1_value) = await sql(broker, VERSION_OF, name="bravo")
    await sql(
        broker, "UPDATE secret_versions SET wrapped_dek = :d, value = :v WHERE id = :id", d=v1_dek, v=v1_value, id=v2_id
    )
    await _expect_integrity_failure(broker, token)


async def test_a_rebound_secret_does_not_decrypt(broker: Broker) -> None:
    """Changing the binding in the database (to a resource an attacker holds) breaks the AAD."""
    token = await _setup(broker)
    other = await token_for(broker, (await broker.create_key("attacker"))["api_key"], resource="host:evil")
    await sql(broker, "UPDATE secrets SET resource = 'host:evil' WHERE name = 'bravo'")
    await _expect_integrity_failure(broker, other)
    await assert_denied(broker, await read_secret(broker, "bravo", token), 403, "secret_not_readable", "secret.read")


async def test_a_missing_version_row_is_refused(broker: Broker) -> None:
    token = await _setup(broker)
    await sql(broker, "UPDATE secrets SET current_version = 7 WHERE name = 'bravo'")
    await _expect_integrity_failure(broker, token)
