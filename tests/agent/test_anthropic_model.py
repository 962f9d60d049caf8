"""The Claude adapter against the real SDK, with Anthropic's HTTP faked at the edge (httpx2)."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2
import pytest

from agent.anthropic_model import AnthropicModel
from agent.model import ModelError, ToolSpec

pytestmark = pytest.mark.anyio


def _sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


STREAM: list[dict[str, Any]] = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-x",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 50,
                "output_tokens": 1,
                "cache_read_input_tokens": 40,
                "cache_creation_input_tokens": 0,
            },
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Checking "}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "balances."}},
    {"type": "content_block_stop", "index": 0},
    {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "tool_use", "id": "toolu_1", "name": "plaid__balances", "input": {}},
    },
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"acc'}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": 'ount": "a1"}'}},
    {"type": "content_block_stop", "index": 1},
    {
        "type": "content_block_start",
        "index": 2,
        "content_block": {"type": "tool_use", "id": "toolu_2", "name": "gmail__search", "input": {}},
    },
    {
        "type": "content_block_delta",
        "index": 2,
        "delta": {"type": "input_json_delta", "partial_json": '{"q": "is:unread"}'},
    },
    {"type": "content_block_stop", "index": 2},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 30},
    },
    {"type": "message_stop"},
]


async def test_streams_text_parses_parallel_tool_calls_and_caches_the_prefix() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(json.loads(request.content))
        return httpx2.Response(200, content=_sse(STREAM), headers={"content-type": "text/event-stream"})

    client = anthropic.AsyncAnthropic(
        api_key="test-key", max_retries=0, http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    )
    model = AnthropicModel(client, "claude-x")
    chunks: list[str] = []

    async def on_text(t: str) -> None:
        chunks.append(t)

    tools = [
        ToolSpec("plaid__balances", "Balances.", {"type": "object", "properties": {}}),
        ToolSpec("gmail__search", "Search mail.", {"type": "object", "properties": {"q": {"type": "string"}}}),
    ]
    reply = await model.complete(
        system="You are Aegis.",
        messages=[{"role": "user", "content": "hi"}],
        tools=tools,
        max_tokens=512,
        on_text=on_text,
    )
    assert chunks == ["Checking ", "balances."]
    assert reply.text == "Checking balances."
    assert [(c.id, c.name, c.input) for c in reply.tool_calls] == [
        ("toolu_1", "plaid__balances", {"account": "a1"}),
        ("toolu_2", "gmail__search", {"q": "is:unread"}),
    ]
    assert reply.stop_reason == "tool_use"
    assert reply.usage.input_tokens == 50 and reply.usage.output_tokens == 30 and reply.usage.cache_read_tokens == 40
    body = seen[0]
    assert body["model"] == "claude-x" and body["max_tokens"] == 512 and body["stream"] is True
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in body["tools"][0]
    assert [b["type"] for b in reply.content] == ["text", "tool_use", "tool_use"]


async def test_api_errors_become_model_errors_without_the_key() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            401, json={"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
        )

    client = anthropic.AsyncAnthropic(
        api_key="sk-ant-canary-123456",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)),
    )
    with pytest.raises(ModelError) as err:
        await AnthropicModel(client, "claude-x").complete(
            system="s", messages=[{"role": "user", "content": "x"}], tools=[], max_tokens=10
        )
    assert "API key" in str(err.value) and "canary" not in str(err.value)
