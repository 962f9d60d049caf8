"""The real bridge process (Node, with its fake WhatsApp client) on loopback, and the real broker.

The bridge checks tokens against the broker's JWKS with its own clock, so the broker's clock is set
to the wall clock here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from broker.client import BrokerClient
from tests.broker.conftest import Broker
from tools._http import RetryPolicy
from tools.whatsapp import BridgeTokens, WhatsAppClient
from tools.whatsapp.process import BRIDGE_DIR, bridge_process_spec

FAKE_ENTRY = "test/support/fake-main.js"
ALICE = "15550000002@c.us"
FAMILY = "120363000000000001@g.us"
ALL_SCOPES = ["whatsapp.pair", "whatsapp.read", "whatsapp.send", "whatsapp.status"]

if not (BRIDGE_DIR / "node_modules" / "whatsapp-web.js").is_dir():  # pragma: no cover - depends on the machine
    pytest.skip(
        "the bridge's packages are not installed: cd whatsapp-bridge && PUPPETEER_SKIP_DOWNLOAD=true npm ci",
        allow_module_level=True,
    )


@dataclass
class BridgeProcess:
    """The bridge with its fake client; ``command`` drives the fake WhatsApp (see fake-main.js)."""

    proc: asyncio.subprocess.Process
    url: str
    data_dir: Path
    stderr: list[str] = field(default_factory=list)

    async def command(self, op: str, **fields: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps({"op": op, **fields}) + "\n").encode())
        await self.proc.stdin.drain()
        async with asyncio.timeout(10):
            while True:
                answer: dict[str, Any] = json.loads(await self.proc.stdout.readline())
                if answer.get("done") == op:
                    return answer

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            async with asyncio.timeout(10):
                await self.proc.wait()


async def start_bridge(
    broker: Broker, data_dir: Path, *, paired: bool, tls_files: tuple[Path, Path] | None = None
) -> BridgeProcess:
    spec = bridge_process_spec(
        data_dir=data_dir,
        broker_issuer=broker.state.config.issuer,
        broker_jwks_url=f"{broker.url}/.well-known/jwks.json",
        port=0,
        entry=FAKE_ENTRY,
        tls_files=tls_files,
    )
    env = {**spec.env, "FAKE_WHATSAPP_PAIRED": "1" if paired else "0"}
    proc = await asyncio.create_subprocess_exec(
        *spec.argv,
        cwd=spec.cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    async with asyncio.timeout(20):
        first = json.loads(await proc.stdout.readline())
    assert first["event"] == "listening"
    return BridgeProcess(proc, spec.url.rsplit(":", 1)[0] + f":{first['port']}", spec.data_dir)


async def until(check: Callable[[], Awaitable[bool]], *, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not await check():  # noqa: ASYNC110 - the bridge exposes state, not events
            await asyncio.sleep(0.02)


@pytest.fixture
def live_broker(broker: Broker) -> Broker:
    broker.clock.now = time.time()
    return broker


@pytest.fixture
async def bridge_factory(live_broker: Broker, tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[BridgeProcess]]]:
    started: list[BridgeProcess] = []

    async def start(
        *, paired: bool = True, data_dir: Path | None = None, tls_files: tuple[Path, Path] | None = None
    ) -> BridgeProcess:
        bridge = await start_bridge(live_broker, data_dir or tmp_path / "data", paired=paired, tls_files=tls_files)
        started.append(bridge)
        return bridge

    yield start
    for bridge in started:
        with contextlib.suppress(ProcessLookupError):
            await bridge.stop()


async def key_file(
    broker: Broker, path: Path, *, scopes: list[str] | None = None, resources: list[str] | None = None
) -> Path:
    key = await broker.create_key(
        "mcp-whatsapp", max_scopes=scopes or ALL_SCOPES, max_resources=resources or ["mcp:whatsapp"]
    )
    await asyncio.to_thread(_write_private, path, key["api_key"] + "\n")
    return path


def _write_private(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


@pytest.fixture
async def tokens(live_broker: Broker, tmp_path: Path) -> BridgeTokens:
    path = await key_file(live_broker, tmp_path / "whatsapp.key")
    return BridgeTokens(BrokerClient(live_broker.http), api_key_file=path, clock=live_broker.clock)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        yield client


def make_client(http: httpx.AsyncClient, tokens: BridgeTokens, bridge: BridgeProcess) -> WhatsAppClient:
    return WhatsAppClient(http, tokens, base_url=bridge.url, retry=RetryPolicy(max_attempts=2, backoff_base=0.01))
