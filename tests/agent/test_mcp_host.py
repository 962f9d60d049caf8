from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from agent.mcp_host import McpHost, ServerSpec, ServerUnavailable
from tests.agent.fixtures.probe_server import build

pytestmark = pytest.mark.anyio
STDIO = ServerSpec(
    "probe", command=[sys.executable, "-m", "tests.agent.fixtures.probe_server"], env={"PYTHONPATH": os.getcwd()}
)


async def test_tools_are_listed_per_server_and_calls_carry_meta_in_process() -> None:
    host = McpHost([ServerSpec("local", instance=build)])
    await host.start(wait=10)
    try:
        assert [(s, t.name) for s, t in host.tools()] == [("local", "probe")]
        assert McpHost.model_name("local", "probe") == "local__probe"
        assert McpHost.split_name("local__probe") == ("local", "probe")
        r = await host.call("local", "probe", {"n": 2}, meta={"aegis/token": "tok"})
        assert r.structured_content is not None
        assert r.structured_content["token"] == "tok" and r.structured_content["n"] == 2
        with pytest.raises(ServerUnavailable):
            await host.call("missing", "probe", {})
        with pytest.raises(ServerUnavailable):
            McpHost.split_name("noprefix")
    finally:
        await host.close()


async def test_a_killed_stdio_server_is_detected_and_restarted() -> None:
    host = McpHost([STDIO], call_timeout=20)
    await host.start(wait=30)
    try:
        first = await host.call("probe", "probe", {"n": 1})
        assert first.structured_content is not None
        pid = int(first.structured_content["pid"])
        assert pid != os.getpid()  # its own process
        assert await host.health_check("probe")
        os.kill(pid, signal.SIGKILL)
        async with asyncio.timeout(30):
            while await host.health_check("probe", within=2):  # noqa: ASYNC110 - polls a killed process
                await asyncio.sleep(0.05)
            second = await host.call("probe", "probe", {"n": 2}, wait=30)
        assert second.structured_content is not None
        assert int(second.structured_content["pid"]) != pid
        assert host.status()["probe"]["restarts"] >= 1
    finally:
        await host.close()
