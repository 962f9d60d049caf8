"""The OpenAI-compatible adapter against a fake chat-completions server (httpx at the edge), shaped
like the real streaming API: ``data:`` chunks, tool calls split by index, usage in a last chunk."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from agent.limits import Budget, MemoryLedger, Prices, TurnLimits
from agent.loop import ToolOutcome, run_turn
from agent.model import ModelError, ToolCall, ToolSpec
from agent.openai_model import OpenAICompatibleModel, to_chat_messages
from tools._http import RetryPolicy

pytestmark = pytest.mark.anyio


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1764633600,
        "model": "llama3.2",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _call(index: int, call_id: str, name: str) -> dict[str, Any]:
    return {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}


def _sse(chunks: list[dict[str, Any]]) -> bytes:
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"


TOOL_STREAM = [
    _chunk({"role": "assistant", "content": ""}),
    _chunk({"content": "Checking "}),
    _chunk({"content": "balances."}),
    _chunk({"tool_calls": [_call(0, "call_a", "plaid__balances")]}),
    _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"acc'}}]}),
    _chunk({"tool_calls": [_call(1, "call_b", "gmail__search")]}),
    _chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ount": "a1"}'}}]}),
    _chunk({"tool_calls": [{"index": 1, "function": {"arguments": '{"q": "is:unread"}'}}]}),
    _chunk({}, "tool_calls"),
    {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1764633600,
        "model": "llama3.2",
        "choices": [],
        "usage": {"prompt_tokens": 50, "completion_tokens": 30, "total_tokens": 80},
    },
]

TOOLS = [ToolSpec("plaid__balances", "Balances", {"type": "object", "properties": {"account": {"type": "string"}}})]


def _model(handler: Any, **kw: Any) -> tuple[OpenAICompatibleModel, httpx.AsyncClient]:
    client = httpx.AsyncClient(base_url="http://127.0.0.1:11434/v1", transport=httpx.MockTransport(handler))
    return OpenAICompatibleModel(client, "llama3.2", **kw), client


async def test_streams_text_and_assembles_parallel_tool_calls() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=_sse(TOOL_STREAM), headers={"content-type": "text/event-stream"})

    model, client = _model(handler, api_key="sk-local-test")
    pieces: list[str] = []

    async def sink(text: str) -> None:
        pieces.append(text)

    async with client:
        reply = await model.complete(
            system="Be brief.",
            messages=[{"role": "user", "content": "What do I have?"}],
            tools=TOOLS,
            max_tokens=512,
            on_text=sink,
        )
    assert pieces == ["Checking ", "balances."]
    assert reply.text == "Checking balances."
    assert [(c.id, c.name, c.input) for c in reply.tool_calls] == [
        ("call_a", "plaid__balances", {"account": "a1"}),
        ("call_b", "gmail__search", {"q": "is:unread"}),
    ]
    assert reply.stop_reason == "tool_use"
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (50, 30)
    expected = {"type": "tool_use", "id": "call_a", "name": "plaid__balances", "input": {"account": "a1"}}
    assert reply.content[1] == expected
    (req,) = seen
    assert req.url.path == "/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-local-test"
    body = json.loads(req.content)
    assert body["stream"] is True and body["model"] == "llama3.2" and body["max_tokens"] == 512
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["tools"][0]["type"] == "function"
    assert body["tools"][0]["function"]["parameters"] == TOOLS[0].input_schema


def test_tool_history_becomes_tool_messages() -> None:
    history: list[dict[str, Any]] = [
        {"role": "user", "content": "Balances?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Looking."},
                {"type": "tool_use", "id": "call_a", "name": "plaid__balances", "input": {"account": "a1"}},
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "call_a", "content": "refused", "is_error": True}],
        },
    ]
    out = to_chat_messages("S", history)
    assert out[2] == {
        "role": "assistant",
        "content": "Looking.",
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "plaid__balances", "arguments": '{"account": "a1"}'},
            }
        ],
    }
    assert out[3] == {"role": "tool", "tool_call_id": "call_a", "content": "ERROR: refused"}


async def test_plain_answer_without_key_or_usage() -> None:
    stream = [_chunk({"content": "Hello."}), _chunk({}, "stop")]

    def handler(request: httpx.Request) -> httpx.Response:
        assert "authorization" not in request.headers
        return httpx.Response(200, content=_sse(stream), headers={"content-type": "text/event-stream"})

    model, client = _model(handler)
    async with client:
        reply = await model.complete(system="S", messages=[{"role": "user", "content": "hi"}], tools=[], max_tokens=10)
    assert (reply.text, reply.tool_calls, reply.stop_reason) == ("Hello.", [], "end_turn")
    assert reply.usage.total == 0


async def test_retries_a_429_honouring_retry_after_then_streams() -> None:
    waits: list[float] = []
    calls = 0

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(429, headers={"Retry-After": "3"}, json={"error": {"message": "busy"}})
        return httpx.Response(200, content=_sse([_chunk({"content": "ok"}, "stop")]))

    model, client = _model(handler, retry=RetryPolicy(sleep=sleep))
    async with client:
        reply = await model.complete(system="S", messages=[{"role": "user", "content": "hi"}], tools=[], max_tokens=10)
    assert reply.text == "ok" and calls == 2 and waits == [3.0]


async def test_errors_are_plain_and_never_echo_the_body_or_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"message": "bad key sk-local-secret"}})

    model, client = _model(handler, api_key="sk-local-secret")
    async with client:
        with pytest.raises(ModelError) as info:
            await model.complete(system="S", messages=[{"role": "user", "content": "hi"}], tools=[], max_tokens=10)
    assert "API key" in str(info.value) and "sk-local" not in str(info.value)


async def test_malformed_tool_arguments_end_the_turn_with_a_message() -> None:
    stream = [
        _chunk({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "plaid__balances", "arguments": "{o"}}]}),
        _chunk({}, "tool_calls"),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=_sse(stream))

    model, client = _model(handler)
    async with client:
        with pytest.raises(ModelError, match="malformed arguments for plaid__balances"):
            await model.complete(system="S", messages=[{"role": "user", "content": "x"}], tools=TOOLS, max_tokens=10)


async def test_unreachable_server_is_a_model_error() -> None:
    async def no_sleep(_s: float) -> None:
        return None

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    model, client = _model(handler, retry=RetryPolicy(max_attempts=2, sleep=no_sleep))
    async with client:
        with pytest.raises(ModelError, match="cannot reach"):
            await model.complete(system="S", messages=[{"role": "user", "content": "x"}], tools=[], max_tokens=10)


class _Balances:
    def specs(self) -> list[ToolSpec]:
        return TOOLS

    async def run(self, call: ToolCall) -> ToolOutcome:
        return ToolOutcome(json.dumps({"status": "ok", "result": {"checking": 120.5}}))


async def test_a_whole_turn_through_the_loop_sends_tool_results_back() -> None:
    """Step 1 asks for a tool; step 2 must carry the assistant's tool call and a ``tool`` message."""
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if len(bodies) == 1:
            stream = [_chunk({"tool_calls": [_call(0, "call_1", "plaid__balances")]}), _chunk({}, "tool_calls")]
        else:
            stream = [_chunk({"content": "You have **120.50** in checking."}), _chunk({}, "stop")]
        return httpx.Response(200, content=_sse(stream))

    model, client = _model(handler)
    budget = Budget(TurnLimits(), Prices(), MemoryLedger(), clock=lambda: datetime(2026, 12, 2, 12, tzinfo=UTC))
    async with client:
        result = await run_turn(model, _Balances(), [], "balances?", system="S", budget=budget)
    assert result.stopped is None and result.text == "You have **120.50** in checking."
    second = bodies[1]["messages"]
    assert second[2]["tool_calls"][0]["id"] == "call_1" and second[2]["content"] is None
    result_text = '{"status": "ok", "result": {"checking": 120.5}}'
    assert second[3] == {"role": "tool", "tool_call_id": "call_1", "content": result_text}
