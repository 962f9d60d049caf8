"""The model port: one ``complete`` call per loop step. Messages use the Messages API block format.

Adapters: :class:`agent.anthropic_model.AnthropicModel` (Claude via the ``anthropic`` SDK) and
:class:`ScriptedModel` (tests and the adversarial suite).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

TextSink = Callable[[str], Awaitable[None]]
Message = dict[str, Any]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(frozen=True)
class ModelReply:
    text: str
    tool_calls: list[ToolCall]
    stop_reason: str
    usage: Usage
    content: list[dict[str, Any]]  # the assistant blocks, sent back unchanged in the next request
    model: str = ""


class ModelError(Exception):
    """The model call failed (network, rate limit, refusal). The turn stops with this message."""


class ModelPort(Protocol):
    @property
    def model_id(self) -> str: ...

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        max_tokens: int,
        on_text: TextSink | None = None,
    ) -> ModelReply: ...


@dataclass
class ScriptedStep:
    """One scripted reply: text, tool calls, or a function of the conversation so far."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=lambda: Usage(100, 20))


Script = Callable[[Sequence[Message], Sequence[ToolSpec]], ScriptedStep]


class ScriptedModel:
    """Replies from a queue of steps, or from a function that reads the conversation (an adversary
    that obeys every instruction it sees, for instance). Records every request it was given."""

    model_id = "scripted"

    def __init__(self, steps: Sequence[ScriptedStep] | Script) -> None:
        self._queue = list(steps) if not callable(steps) else None
        self._script = steps if callable(steps) else None
        self.requests: list[dict[str, Any]] = []

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        max_tokens: int,
        on_text: TextSink | None = None,
    ) -> ModelReply:
        self.requests.append({"system": system, "messages": [dict(m) for m in messages], "tools": list(tools)})
        if self._script is not None:
            step = self._script(messages, tools)
        elif self._queue:
            step = self._queue.pop(0)
        else:
            step = ScriptedStep(text="(script finished)")
        if on_text is not None and step.text:
            for word in step.text.split(" "):
                await on_text(word + " ")
        content: list[dict[str, Any]] = []
        if step.text:
            content.append({"type": "text", "text": step.text})
        content += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.input} for c in step.tool_calls]
        return ModelReply(
            text=step.text,
            tool_calls=list(step.tool_calls),
            stop_reason="tool_use" if step.tool_calls else "end_turn",
            usage=step.usage,
            content=content,
            model=self.model_id,
        )
