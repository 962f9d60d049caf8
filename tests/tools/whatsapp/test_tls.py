"""The bridge serving HTTPS (TLS 1.3 only, a certificate from deploy/make-ca.sh) and the Python client
that trusts the internal CA alone: the real Node process, the real broker, no fake in between."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.deploy.stack import make_tls
from tests.tools.whatsapp.conftest import BridgeProcess, make_client
from tools.errors import UpstreamError
from tools.whatsapp import BridgeTokens
from tools.whatsapp.client import bridge_http

pytestmark = pytest.mark.anyio

Start = Callable[..., Awaitable[BridgeProcess]]


def _handshake(port: int, ctx: ssl.SSLContext) -> str:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return str(tls.version())


@pytest.fixture
async def tls_bridge(bridge_factory: Start, tmp_path: Path) -> tuple[BridgeProcess, Path]:
    tls = await asyncio.to_thread(make_tls, tmp_path / "tls")
    bridge = await bridge_factory(tls_files=(tls / "local.crt", tls / "local.key"))
    return bridge, tls


async def test_the_client_talks_to_the_bridge_over_tls13_with_the_internal_ca(
    tls_bridge: tuple[BridgeProcess, Path], tokens: BridgeTokens
) -> None:
    bridge, tls = tls_bridge
    assert bridge.url.startswith("https://127.0.0.1:")
    async with httpx.AsyncClient(trust_env=False) as shared:
        assert bridge_http("http://127.0.0.1:3001", tls / "ca.crt", shared) is shared  # loopback HTTP
        http = bridge_http(bridge.url, tls / "ca.crt", shared)
    async with http:
        assert http is not shared
        client = make_client(http, tokens, bridge)
        assert (await client.status()).state in {"connected", "starting", "pairing"}
        assert await client.health_check() is True
    port = urlsplit(bridge.url).port
    assert port is not None
    trusted = ssl.create_default_context(cafile=str(tls / "ca.crt"))
    assert await asyncio.to_thread(_handshake, port, trusted) == "TLSv1.3"


async def test_a_certificate_from_another_ca_is_refused(
    tls_bridge: tuple[BridgeProcess, Path], tokens: BridgeTokens, tmp_path: Path
) -> None:
    bridge, _ = tls_bridge
    other = await asyncio.to_thread(make_tls, tmp_path / "other-ca")
    async with httpx.AsyncClient(trust_env=False) as shared, bridge_http(bridge.url, other / "ca.crt", shared) as http:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await http.get(f"{bridge.url}/v1/status")
        with pytest.raises(UpstreamError, match="network error"):
            await make_client(http, tokens, bridge).status()
    async with httpx.AsyncClient(trust_env=False) as shared, bridge_http(bridge.url, None, shared) as public_roots_only:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await public_roots_only.get(f"{bridge.url}/v1/status")


async def test_tls12_and_plain_http_get_no_answer(tls_bridge: tuple[BridgeProcess, Path]) -> None:
    bridge, tls = tls_bridge
    port = urlsplit(bridge.url).port
    assert port is not None
    old = ssl.create_default_context(cafile=str(tls / "ca.crt"))
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError, match=r"PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL"):
        await asyncio.to_thread(_handshake, port, old)
    async with httpx.AsyncClient(timeout=5, trust_env=False) as plain:
        with pytest.raises(httpx.TransportError):
            await plain.get(f"http://127.0.0.1:{port}/v1/status")
