"""Any OpenAI-compatible chat-completions endpoint (Ollama, llama.cpp's server, vLLM): streaming and
tool calls over httpx, for owners who want their data to stay on their machine.

The loop speaks the Messages API block format (:mod:`agent.model`); this adapter translates it to
chat-completions messages on the way out and back to blocks on the way in, so the conversation store
and the gateway see the same shapes whichever model answered.

Limits, stated to the owner on the Models page: tool use is only as good as the local model (small
models miss tools or write malformed arguments, which end the turn with a plain message), there is
no prompt caching, and usage is reported only by servers that honour ``stream_options``.

Retries: a request is retried (tenacity, ``Retry-After`` honoured) only before its stream starts,
through :func:`tools._http.send_with_retry`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from agent.model import Message, ModelError, ModelReply, TextSink, ToolCall, ToolSpec, Usage
from tools._http import RetryPolicy, send_with_retry
from tools.errors import UpstreamError

STOP_REASONS = {"tool_calls": "tool_use", "function_call": "tool_use", "stop": "end_turn", "length": "max_tokens"}


class OpenAICompatibleModel:
    """``client`` carries the endpoint (``base_url``, e.g. ``http://127.0.0.1:11434/v1``) and timeouts;
    ``api_key`` is sent as a bearer token when the server wants one (vLLM ``--api-key``)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        model_id: str,
        *,
        api_key: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._client = client
        self._api_key = api_key
        self._retry = retry or RetryPolicy(max_attempts=3, max_total_seconds=20.0)
        self.model_id = model_id

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        max_tokens: int,
        on_text: TextSink | None = None,
    ) -> ModelReply:
        body: dict[str, Any] = {
            "model": self.model_id,
            "messages": to_chat_messages(system, messages),
            "max_tokens": max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            body["tools"] = [_tool(t) for t in tools]
        headers = {"Accept": "text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = self._client.build_request("POST", "chat/completions", json=body, headers=headers)

        async def send() -> httpx.Response:
            response = await self._client.send(request, stream=True)
            if response.status_code != 200:
                await response.aread()
                await response.aclose()
            return response

        try:
            response = await send_with_retry(send, policy=self._retry, idempotent=True, integration="the model server")
        except UpstreamError:
            raise ModelError("cannot reach the model server (network)") from None
        if response.status_code != 200:
            raise ModelError(_describe(response.status_code))
        stream = _Stream()
        try:
            async for line in response.aiter_lines():
                text = stream.feed(line)
                if text and on_text is not None:
                    await on_text(text)
        except httpx.HTTPError:
            raise ModelError("the model server closed the stream early") from None
        finally:
            await response.aclose()
        return stream.reply(self.model_id)


def to_chat_messages(system: str, messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Messages API blocks -> chat-completions messages (tool results become ``tool`` messages)."""
    out: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for m in messages:
        content = m["content"]
        if isinstance(content, str):
            out.append({"role": m["role"], "content": content})
            continue
        texts = [b["text"] for b in content if b.get("type") == "text"]
        if m["role"] == "assistant":
            msg: dict[str, Any] = {"role": "assistant", "content": "\n\n".join(texts) or None}
            calls = [
                {
                    "id": b["id"],
                    "type": "function",
                    "function": {"name": b["name"], "arguments": json.dumps(b.get("input", {}))},
                }
                for b in content
                if b.get("type") == "tool_use"
            ]
            if calls:
                msg["tool_calls"] = calls
            out.append(msg)
            continue
        out.extend(
            {"role": "tool", "tool_call_id": b["tool_use_id"], "content": _result_text(b)}
            for b in content
            if b.get("type") == "tool_result"
        )
        if texts:
            out.append({"role": "user", "content": "\n\n".join(texts)})
    return out


def _tool(spec: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": spec.name, "description": spec.description, "parameters": spec.input_schema},
    }


def _result_text(block: dict[str, Any]) -> str:
    raw = block.get("content", "")
    text = raw if isinstance(raw, str) else "\n".join(str(p.get("text", "")) for p in raw if isinstance(p, dict))
    return f"ERROR: {text}" if block.get("is_error") else text


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class _Stream:
    """Accumulates server-sent chat-completion chunks: text, tool calls by index, finish reason, usage."""

    text: list[str] = field(default_factory=list)
    calls: dict[int, _PartialCall] = field(default_factory=dict)
    finish: str = "stop"
    usage: Usage = field(default_factory=Usage)
    model: str = ""

    def feed(self, line: str) -> str:
        """One SSE line; returns the new text it carried, if any."""
        if not line.startswith("data:"):
            return ""  # blank separators, comments, event names
        data = line[5:].strip()
        if not data or data == "[DONE]":
            return ""
        try:
            chunk = json.loads(data)
        except ValueError:
            raise ModelError("the model server sent a malformed stream") from None
        if "error" in chunk and "choices" not in chunk:
            raise ModelError("the model server reported an error mid-stream")
        self.model = str(chunk.get("model") or self.model)
        if isinstance(chunk.get("usage"), dict):
            u = chunk["usage"]
            self.usage = Usage(int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0))
        new = ""
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                new += str(delta["content"])
            for tc in delta.get("tool_calls") or []:
                part = self.calls.setdefault(int(tc.get("index", len(self.calls))), _PartialCall())
                part.id = tc.get("id") or part.id
                fn = tc.get("function") or {}
                part.name = fn.get("name") or part.name
                if fn.get("arguments"):
                    part.arguments.append(str(fn["arguments"]))
            if choice.get("finish_reason"):
                self.finish = str(choice["finish_reason"])
        if new:
            self.text.append(new)
        return new

    def reply(self, model_id: str) -> ModelReply:
        text = "".join(self.text)
        calls = [self._call(p) for _, p in sorted(self.calls.items())]
        content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
        content += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.input} for c in calls]
        stop = "tool_use" if calls else STOP_REASONS.get(self.finish, self.finish)
        return ModelReply(text, calls, stop, self.usage, content, model=self.model or model_id)

    @staticmethod
    def _call(part: _PartialCall) -> ToolCall:
        if not part.name:
            raise ModelError("the model sent a tool call without a name")
        raw = "".join(part.arguments).strip() or "{}"
        try:
            args = json.loads(raw)
        except ValueError:
            raise ModelError(f"the model wrote malformed arguments for {part.name}; try a stronger model") from None
        if not isinstance(args, dict):
            raise ModelError(f"the model wrote malformed arguments for {part.name}; try a stronger model")
        return ToolCall(part.id or f"call_{secrets.token_hex(8)}", part.name, args)


def _describe(status: int) -> str:
    """A message for the owner; the server's body (which may echo the request) is never included."""
    if status in (401, 403):
        return "the model server rejected the API key; update it on the Models page"
    if status == 404:
        return "the model server does not know that model or path; check the base URL and model name"
    if status == 429:
        return "the model server is rate limiting; try again shortly"
    return f"the model server returned an error ({status})"
