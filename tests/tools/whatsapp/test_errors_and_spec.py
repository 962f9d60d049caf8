"""Error mapping and retries at the network edge (responses shaped like the bridge's), and the
process spec ``aegis up`` uses."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.tools.conftest import Sleeps
from tools._http import RetryPolicy
from tools.credentials import StaticCredentials
from tools.errors import AuthExpired, InvalidRequest, UpstreamError
from tools.whatsapp import NotConnected, WhatsAppClient
from tools.whatsapp.process import BRIDGE_DIR, BridgeUnavailable, bridge_process_spec

pytestmark = pytest.mark.anyio
TOKEN = "eyJ.canary-bridge-token.sig"
CREDS = dict.fromkeys(("whatsapp.status", "whatsapp.read", "whatsapp.send", "whatsapp.pair"), TOKEN)


def _client(handler: httpx.MockTransport, sleeps: Sleeps) -> tuple[WhatsAppClient, StaticCredentials]:
    creds = StaticCredentials(CREDS)
    http = httpx.AsyncClient(transport=handler)
    policy = RetryPolicy(sleep=sleeps, random=lambda: 0.0)
    return WhatsAppClient(http, creds, base_url="http://bridge.test", retry=policy), creds


async def test_a_whatsapp_failure_is_retried_and_a_send_keeps_one_idempotency_key(sleeps: Sleeps) -> None:
    keys: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        keys.append(json.loads(request.content)["idempotency_key"])
        if len(keys) == 1:
            return httpx.Response(502, json={"error": "whatsapp_error", "message": "WhatsApp Web failed to answer"})
        return httpx.Response(
            200, json={"message": {"id": "true_1@c.us_X", "chat_id": "15550000002@c.us", "timestamp": 5}}
        )

    client, _ = _client(httpx.MockTransport(handle), sleeps)
    sent = await client.send("15550000002@c.us", "hi")
    assert sent.id == "true_1@c.us_X"
    assert len(keys) == 2 and keys[0] == keys[1]
    assert sleeps.waits == [0.25]


async def test_not_connected_carries_the_state(sleeps: Sleeps) -> None:
    body = {
        "error": "not_connected",
        "message": "WhatsApp is not connected (state: web_changed)",
        "state": "web_changed",
    }
    client, _ = _client(httpx.MockTransport(lambda r: httpx.Response(409, json=body)), sleeps)
    with pytest.raises(NotConnected) as caught:
        await client.recent_chats()
    assert caught.value.needs_update and not caught.value.needs_owner
    assert isinstance(caught.value, UpstreamError)


async def test_401_tries_one_fresh_token_then_raises_without_the_token(sleeps: Sleeps) -> None:
    calls: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["Authorization"])
        return httpx.Response(401, json={"error": "invalid_token", "message": f"bad {TOKEN}"})

    client, creds = _client(httpx.MockTransport(handle), sleeps)
    with pytest.raises(AuthExpired) as caught:
        await client.pending()
    assert len(calls) == 2
    assert creds.invalidated[0] == "whatsapp.read"
    assert TOKEN not in str(caught.value)


async def test_bad_input_never_reaches_the_bridge(sleeps: Sleeps) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    client, _ = _client(httpx.MockTransport(handle), sleeps)
    for call in (
        client.chat_messages("15550000002@c.us/../../inbox"),
        client.search("", chat_id=None),
        client.recent_chats(limit=0),
        client.request_pairing_code("call me"),
        client.send("123@s.whatsapp.net", "hi"),
    ):
        with pytest.raises(InvalidRequest):
            await call


def test_the_spec_says_everything_that_is_missing(tmp_path: Path) -> None:
    with pytest.raises(BridgeUnavailable) as caught:
        bridge_process_spec(
            data_dir=tmp_path,
            broker_issuer="http://127.0.0.1:8421",
            bridge_dir=tmp_path / "nowhere",
            chromium=tmp_path / "chromium",
            which=lambda name: None,
        )
    text = str(caught.value)
    assert len(caught.value.missing) == 3
    assert "Node.js" in text and "npm ci" in text and "chromium" in text


def test_the_spec_builds_its_own_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_ANTHROPIC_API_KEY", "sk-canary")
    chromium = tmp_path / "chromium"
    chromium.touch()
    modules = tmp_path / "bridge" / "node_modules" / "whatsapp-web.js"
    modules.mkdir(parents=True)
    spec = bridge_process_spec(
        data_dir=tmp_path / "data",
        broker_issuer="http://127.0.0.1:8421",
        bridge_dir=tmp_path / "bridge",
        chromium=chromium,
        which=lambda name: "/usr/bin/node",
    )
    assert spec.argv == ("/usr/bin/node", "src/main.js")
    assert spec.url == "http://127.0.0.1:3001"
    assert spec.env["AEGIS_BROKER_JWKS_URL"] == "http://127.0.0.1:8421/.well-known/jwks.json"
    assert spec.env["WHATSAPP_BRIDGE_DATA_DIR"] == str((tmp_path / "data" / "whatsapp-bridge").resolve())
    assert "sk-canary" not in json.dumps(dict(spec.env)) and "WHATSAPP_BRIDGE_ALLOW_NETWORK" not in spec.env
    assert "sk-canary" not in repr(spec)
    assert BRIDGE_DIR.name == "whatsapp-bridge" and (BRIDGE_DIR / "package-lock.json").is_file()


def test_a_fresh_clone_installs_the_bridge_packages_from_its_lock_file(tmp_path: Path) -> None:
    import shutil

    from tools.whatsapp.process import install_packages

    assert install_packages(BRIDGE_DIR)  # this checkout: already there, nothing runs
    assert not install_packages(tmp_path, which=lambda _: None)  # no npm: nothing to run it with
    # An empty lock file: npm ci really runs (offline: nothing to fetch), yet whatsapp-web.js is still
    # missing, so the bridge stays unavailable and says why.
    (tmp_path / "package.json").write_text(json.dumps({"name": "b", "version": "1.0.0"}))
    (tmp_path / "package-lock.json").write_text(
        json.dumps({"name": "b", "version": "1.0.0", "lockfileVersion": 3, "packages": {"": {"name": "b"}}})
    )
    called: list[str] = []

    def which(name: str) -> str | None:
        called.append(name)
        return shutil.which(name)

    assert not install_packages(tmp_path, which=which)
    assert called == ["npm"]
