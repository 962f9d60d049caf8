"""Claude through the official ``anthropic`` SDK: async, streaming, tool use, prompt caching.

The SDK retries by itself (``max_retries``); nothing here wraps it in another retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anthropic
from anthropic.types import TextDelta

from agent.model import Message, ModelError, ModelReply, TextSink, ToolCall, ToolSpec, Usage

CACHE = {"type": "ephemeral"}


class AnthropicModel:
    def __init__(self, client: anthropic.AsyncAnthropic, model_id: str) -> None:
        self._client = client
        self.model_id = model_id

    @staticmethod
    def _tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [
            {"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in tools
        ]
        if out:
            out[-1] = {**out[-1], "cache_control": CACHE}  # tools + system are the stable, cached prefix
        return out

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        max_tokens: int,
        on_text: TextSink | None = None,
    ) -> ModelReply:
        params: dict[str, Any] = {
            "model": self.model_id,
            "max_tokens": max_tokens,
            "system": [{"type": "text", "text": system, "cache_control": CACHE}],
            "messages": list(messages),
        }
        if tools:
            params["tools"] = self._tools(tools)
        try:
            async with self._client.messages.stream(**params) as stream:
                async for event in stream:
                    if (
                        on_text is not None
                        and event.type == "content_block_delta"
                        and isinstance(event.delta, TextDelta)
                    ):
                        await on_text(event.delta.text)
                final = await stream.get_final_message()
        except anthropic.APIError as exc:
            raise ModelError(_describe(exc)) from None
        text = "".join(b.text for b in final.content if b.type == "text")
        calls = [ToolCall(b.id, b.name, dict(b.input)) for b in final.content if b.type == "tool_use"]
        u = final.usage
        usage = Usage(
            u.input_tokens,
            u.output_tokens,
            getattr(u, "cache_read_input_tokens", 0) or 0,
            getattr(u, "cache_creation_input_tokens", 0) or 0,
        )
        return ModelReply(
            text=text,
            tool_calls=calls,
            stop_reason=str(final.stop_reason),
            usage=usage,
            content=[
                b.model_dump(exclude_none=True, include={"type", "text", "id", "name", "input"}) for b in final.content
            ],
            model=final.model,
        )


def _describe(exc: anthropic.APIError) -> str:
    """A message for the owner; never includes the request, headers or key."""
    if isinstance(exc, anthropic.AuthenticationError):
        return "Claude rejected the API key; update the anthropic_api_key secret"
    if isinstance(exc, anthropic.RateLimitError):
        return "Claude is rate limiting this key; try again shortly"
    if isinstance(exc, anthropic.APIStatusError):
        return f"Claude returned an error ({exc.status_code})"
    if isinstance(exc, anthropic.APIConnectionError):
        return "cannot reach Claude (network)"
    return "the Claude request failed"
