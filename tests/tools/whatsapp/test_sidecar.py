"""The manifest's sidecar as ``aegis up`` runs it: the real bridge process (in the demo profile with
its fake WhatsApp), supervised by :mod:`aegis.sidecars`, its folder private, reached with broker
tokens; and a clear list of what is missing when it cannot start."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from aegis.sidecars import Sidecars, is_problem
from integrations import Catalog
from tests.broker.conftest import Broker
from tests.tools.whatsapp.conftest import until
from tools._http import RetryPolicy
from tools.sidecar import SidecarSettings
from tools.whatsapp import BridgeTokens, WhatsAppClient

pytestmark = pytest.mark.anyio


def _settings(broker: Broker, data_dir: Path, *, demo: bool) -> SidecarSettings:
    return SidecarSettings(
        data_dir=data_dir,
        broker_issuer=broker.state.config.issuer,
        broker_jwks_url=f"{broker.url}/.well-known/jwks.json",
        port=0,
        demo=demo,
    )


async def test_the_demo_bridge_runs_supervised_and_looks_alive(
    live_broker: Broker, tokens: BridgeTokens, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    sidecars = Sidecars(Catalog.load(), _settings(live_broker, tmp_path / "data", demo=True), backoff=0.2)
    assert sidecars.problems() == [] and list(sidecars.server_env()) == ["whatsapp"]
    await sidecars.start(wait_seconds=30)
    try:
        assert sidecars.status()["sidecar:whatsapp"]["up"] is True
        folder = tmp_path / "data" / "whatsapp-bridge"
        assert folder.stat().st_mode & 0o777 == 0o700  # the session folder: the bridge's user only
        url = sidecars.server_env()["whatsapp"]["WHATSAPP_BRIDGE_URL"]
        assert url.startswith("http://127.0.0.1:")
        assert (await http.get(url + "/v1/status")).status_code == 401  # no token, no answer
        client = WhatsAppClient(http, tokens, base_url=url, retry=RetryPolicy(max_attempts=2, backoff_base=0.01))
        await until(lambda: _connected(client), seconds=20)
        chats = await client.recent_chats(10)
        assert {c.name for c in chats} >= {"Sam Rivera", "Family"}
        assert all(time.time() - c.timestamp < 2 * 86400 for c in chats)  # dated relative to now
        pending = await client.pending(50)
        assert pending and all(not m.from_me for m in pending)

        # kill -9: the supervisor starts it again; what Aegis had not acknowledged is still there.
        process = sidecars.running["whatsapp"]
        assert process.proc is not None
        os.kill(process.proc.pid, signal.SIGKILL)
        await until(lambda: _restarted(sidecars), seconds=30)
        await until(lambda: _connected(client), seconds=20)
        assert {m.id for m in await client.pending(50)} >= {m.id for m in pending}
    finally:
        await sidecars.stop()
    assert sidecars.status()["sidecar:whatsapp"]["state"] == "stopped"


async def _connected(client: WhatsAppClient) -> bool:
    try:
        return (await client.status()).state == "connected"
    except Exception:  # noqa: BLE001 - starting up
        return False


async def _restarted(sidecars: Sidecars) -> bool:
    await asyncio.sleep(0)
    part = sidecars.status()["sidecar:whatsapp"]
    return bool(part["restarts"] == 1 and part["up"])


async def test_what_is_missing_is_said_and_aegis_is_not_degraded(
    live_broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no node anywhere
    sidecars = Sidecars(Catalog.load(), _settings(live_broker, tmp_path / "data", demo=False))
    [problem] = sidecars.problems()
    assert problem.startswith("whatsapp: the WhatsApp bridge cannot start: Node.js 20+ is not installed")
    part = sidecars.status()["sidecar:whatsapp"]
    assert part["state"] == "unavailable" and part["optional"] is True and part["up"] is False
    assert sidecars.server_env() == {}
    await sidecars.start()
    assert sidecars.running == {}


def test_only_a_sidecars_problems_reach_the_terminal() -> None:
    routine = [
        '{"event":"request","method":"GET","path":"/v1/status","status":401,"ms":1}',
        '{"event":"state","state":"connected","detail":null}',
        '{"event":"message.stored","stored":true,"pending":1}',
    ]
    problems = [
        '{"event":"state","state":"logged_out","detail":"the phone unlinked Aegis","level":"warn"}',
        '{"event":"request","method":"POST","path":"/v1/send","status":500,"ms":3}',
        '{"event":"tls.refused","reason":"no client certificate"}',
        '{"event":"catch_up.error","message":"timed out"}',
        "TypeError: Cannot read properties of undefined (reading 'id')",
        "[1, 2]",
    ]
    assert [is_problem(line) for line in routine] == [False] * len(routine)
    assert [is_problem(line) for line in problems] == [True] * len(problems)
