"""A broker that is down (restarting) fails the tool call for the model, not the whole turn."""

from __future__ import annotations

from typing import cast

import httpx
import pytest

from agent.adversarial.suite import world_tools
from agent.gateway import Label
from agent.gateway.gateway import ExecRequest, ToolFailed
from agent.gateway.policy import ToolCall
from agent.gateway.registry import Registry
from agent.mcp_host import McpHost
from agent.toolrunner import McpExecutor
from broker.client import BrokerClientError

pytestmark = pytest.mark.anyio


class Tokens:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def token(self, audience: str, scope: str, resource: str) -> str:
        raise self.error


def _request() -> ExecRequest:
    spec = Registry.load(extra_tools=world_tools()).spec("gmail.search")
    assert spec is not None
    return ExecRequest(ToolCall("c1", "gmail.search", {"query": "invoice"}), spec, Label.clean())


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError("connection refused"), BrokerClientError(503, "sealed", "the broker is sealed")],
    ids=["down", "sealed"],
)
async def test_the_call_fails_with_a_message_the_model_can_relay(error: Exception) -> None:
    host = cast(McpHost, object())  # never reached: no token, no call
    with pytest.raises(ToolFailed, match="broker is restarting"):
        await McpExecutor(host, Tokens(error))(_request())


async def test_a_refusal_is_not_taken_for_a_restart() -> None:
    with pytest.raises(BrokerClientError):
        await McpExecutor(cast(McpHost, object()), Tokens(BrokerClientError(403, "scope", "no")))(_request())
