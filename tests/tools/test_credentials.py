from __future__ import annotations

import json
from pathlib import Path

import anyio
import httpx
import pytest
from structlog.testing import capture_logs

from broker.client import BrokerClient
from tests.broker.conftest import Broker
from tools.credentials import BrokerCredentials, StaticCredentials, read_api_key_file
from tools.errors import AuthExpired, InvalidRequest, UpstreamError

pytestmark = pytest.mark.anyio

TOKEN_DOC: dict[str, str | int] = {
    "access_token": "ya29.canary-access-7f3a9c",
    "refresh_token": "1//canary-refresh-55e1",
    "expires_at": 1_800_003_600,
    "token_uri": "https://oauth2.googleapis.com/token",
    "client_id": "aegis.apps.googleusercontent.com",
}
CANARY = json.dumps(TOKEN_DOC)


async def _setup(broker: Broker, tmp_path: Path, *, ttl: int = 300) -> BrokerCredentials:
    r = await broker.http.post(
        "/v1/secrets",
        json={"name": "gmail-oauth", "value": CANARY, "type": "oauth-token", "resource": "mcp:gmail"},
        headers=broker.admin,
    )
    assert r.status_code == 201, r.text
    r = await broker.http.post(
        "/v1/secrets",
        json={"name": "plaid-secret", "value": "plaid-canary-secret", "resource": "mcp:plaid"},
        headers=broker.admin,
    )
    assert r.status_code == 201, r.text
    key = await broker.create_key("mcp-gmail", max_scopes=["secrets.read"], max_resources=["mcp:gmail"])
    key_file = tmp_path / "gmail.key"
    key_file.write_text(key["api_key"] + "\n")
    key_file.chmod(0o600)
    client = BrokerClient(broker.http)
    return BrokerCredentials(client, api_key_file=key_file, resource="mcp:gmail", ttl_seconds=ttl, clock=broker.clock)


async def _reads(broker: Broker) -> int:
    return sum(1 for e in await broker.audit(limit=500) if e["action"] == "secret.read" and e["result"] == "allow")


async def test_reads_a_secret_through_the_broker_with_a_resource_bound_token(broker: Broker, tmp_path: Path) -> None:
    creds = await _setup(broker, tmp_path)
    with capture_logs() as logs:
        value = await creds.get("gmail-oauth")
    assert json.loads(value) == TOKEN_DOC
    assert await _reads(broker) == 1
    assert CANARY not in str(logs) and str(TOKEN_DOC["access_token"]) not in str(logs)
    assert "gmail-oauth" in creds.held()


async def test_the_value_is_held_in_memory_until_the_token_expires(broker: Broker, tmp_path: Path) -> None:
    creds = await _setup(broker, tmp_path, ttl=60)
    await creds.get("gmail-oauth")
    await creds.get("gmail-oauth")
    assert await _reads(broker) == 1  # the second read came from memory
    broker.clock.advance(60)
    assert creds.held() == []
    await creds.get("gmail-oauth")
    assert await _reads(broker) == 2


async def test_invalidate_forces_a_new_read_and_sees_a_rotated_value(broker: Broker, tmp_path: Path) -> None:
    creds = await _setup(broker, tmp_path)
    assert json.loads(await creds.get("gmail-oauth"))["access_token"] == TOKEN_DOC["access_token"]
    rotated = json.dumps({**TOKEN_DOC, "access_token": "ya29.rotated-after-reauth"})
    r = await broker.http.put("/v1/secrets/gmail-oauth", json={"value": rotated}, headers=broker.admin)
    assert r.status_code == 200, r.text
    assert json.loads(await creds.get("gmail-oauth"))["access_token"] == TOKEN_DOC["access_token"]
    creds.invalidate("gmail-oauth")
    assert creds.held() == []
    assert json.loads(await creds.get("gmail-oauth"))["access_token"] == "ya29.rotated-after-reauth"
    assert await _reads(broker) == 2
    creds.invalidate()
    await creds.get("gmail-oauth")
    assert await _reads(broker) == 3


async def test_plaintext_is_never_written_to_disk(broker: Broker, tmp_path: Path) -> None:
    creds = await _setup(broker, tmp_path)
    await creds.get("gmail-oauth")
    canaries = [str(TOKEN_DOC["access_token"]).encode(), str(TOKEN_DOC["refresh_token"]).encode()]
    leaks = await anyio.to_thread.run_sync(_files_containing, tmp_path, canaries)
    assert leaks == []


def _files_containing(root: Path, needles: list[bytes]) -> list[Path]:
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files  # the broker's database and the key file are there
    return [p for p in files if any(n in p.read_bytes() for n in needles)]


async def test_a_secret_bound_to_another_resource_is_refused(broker: Broker, tmp_path: Path) -> None:
    creds = await _setup(broker, tmp_path)
    with pytest.raises(AuthExpired) as caught:
        await creds.get("plaid-secret")
    assert caught.value.integration == "broker" and caught.value.status == 403
    assert "plaid-canary-secret" not in str(caught.value)


async def test_a_missing_secret_means_the_owner_must_connect(broker: Broker, tmp_path: Path) -> None:
    creds = await _setup(broker, tmp_path)
    with pytest.raises(AuthExpired):
        await creds.get("no-such-secret")


async def test_a_revoked_key_cannot_mint(broker: Broker, tmp_path: Path) -> None:
    creds = await _setup(broker, tmp_path)
    key_id = (tmp_path / "gmail.key").read_text().strip().removeprefix("aegk_").split(".")[0]
    r = await broker.http.post("/v1/revoke/key", json={"key_id": key_id, "reason": "test"}, headers=broker.admin)
    assert r.status_code == 200, r.text
    with pytest.raises(AuthExpired) as caught:
        await creds.get("gmail-oauth")
    assert caught.value.status == 401


async def test_repr_never_shows_the_api_key_or_values(broker: Broker, tmp_path: Path) -> None:
    creds = await _setup(broker, tmp_path)
    await creds.get("gmail-oauth")
    api_key = (tmp_path / "gmail.key").read_text().strip()
    assert api_key not in repr(creds) and CANARY not in repr(creds)


async def test_an_unreachable_broker_is_an_upstream_error(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    key_file = tmp_path / "k"
    key_file.write_text("aegk_abc.def")
    key_file.chmod(0o600)
    async with httpx.AsyncClient(base_url="http://broker.test", transport=httpx.MockTransport(refuse)) as http:
        creds = BrokerCredentials(BrokerClient(http), api_key_file=key_file, resource="mcp:gmail")
        with pytest.raises(UpstreamError) as caught:
            await creds.get("gmail-oauth")
    assert "aegk_abc.def" not in str(caught.value)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_an_api_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "key"
    path.write_text("aegk_abc.def")
    path.chmod(mode)
    with pytest.raises(InvalidRequest, match="group or others"):
        read_api_key_file(path)


def test_api_key_file_must_exist_and_not_be_empty(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="does not exist"):
        read_api_key_file(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    empty.chmod(0o600)
    with pytest.raises(InvalidRequest, match="empty"):
        read_api_key_file(empty)
    good = tmp_path / "good"
    good.write_text("aegk_abc.def\n")
    good.chmod(0o600)
    assert read_api_key_file(good) == "aegk_abc.def"


async def test_static_credentials_serve_values_and_record_use() -> None:
    creds = StaticCredentials({"a": "1"})
    assert await creds.get("a") == "1"
    with pytest.raises(AuthExpired):
        await creds.get("b")
    creds.invalidate("a")
    assert creds.reads == ["a", "b"] and creds.invalidated == ["a"]
    assert "1" not in repr(creds).replace("names", "")
