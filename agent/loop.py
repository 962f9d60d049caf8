"""The bounded tool-use loop. It knows nothing about integrations: tools run through a ToolRunner
(the gateway in production), several calls of one step run concurrently, and every limit fails
closed with a message the owner can act on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.gateway.render import neutralise_remote
from agent.limits import Budget, LimitReached
from agent.model import Message, ModelError, ModelPort, TextSink, ToolCall, ToolSpec, Usage


@dataclass(frozen=True)
class ToolOutcome:
    content: str
    is_error: bool = False
    meta: dict[str, Any] = field(default_factory=dict)  # provenance labels, approval ids, rule ids


class ToolRunner(Protocol):
    def specs(self) -> Sequence[ToolSpec]: ...

    async def run(self, call: ToolCall) -> ToolOutcome: ...


@dataclass
class TurnEvent:
    kind: str  # "text" | "tool_call" | "tool_result" | "stopped" | "done"
    data: dict[str, Any]


EventSink = Callable[[TurnEvent], Awaitable[None]]


@dataclass
class TurnResult:
    text: str
    messages: list[Message]
    usage: Usage
    cost: float
    stopped: str | None = None  # why the turn ended early, if it did
    calls: list[tuple[ToolCall, ToolOutcome]] = field(default_factory=list)


async def ignore_events(_e: TurnEvent) -> None:
    return None


async def run_turn(
    model: ModelPort,
    tools: ToolRunner,
    history: Sequence[Message],
    user_text: str,
    *,
    system: str,
    budget: Budget,
    events: EventSink = ignore_events,
) -> TurnResult:
    messages: list[Message] = [*history, {"role": "user", "content": user_text}]
    calls: list[tuple[ToolCall, ToolOutcome]] = []
    text_parts: list[str] = []

    async def on_text(chunk: str) -> None:
        await events(TurnEvent("text", {"text": chunk}))

    sink: TextSink = on_text
    try:
        while True:
            await budget.before_step()
            reply = await model.complete(
                system=system,
                messages=messages,
                tools=tools.specs(),
                max_tokens=budget.limits.max_output_tokens,
                on_text=sink,
            )
            messages.append({"role": "assistant", "content": reply.content})
            await budget.after_step(reply.usage)
            if reply.text:
                text_parts.append(reply.text)
            if not reply.tool_calls:
                break
            budget.take_tool_calls(len(reply.tool_calls))
            for c in reply.tool_calls:
                await events(TurnEvent("tool_call", {"id": c.id, "name": c.name, "input": c.input}))
            outcomes = await asyncio.gather(*(tools.run(c) for c in reply.tool_calls))
            results: list[dict[str, Any]] = []
            for c, o in zip(reply.tool_calls, outcomes, strict=True):
                calls.append((c, o))
                await events(
                    TurnEvent(
                        "tool_result",
                        {"id": c.id, "name": c.name, "content": o.content, "is_error": o.is_error, "meta": o.meta},
                    )
                )
                results.append(
                    {"type": "tool_result", "tool_use_id": c.id, "content": o.content, "is_error": o.is_error}
                )
            messages.append({"role": "user", "content": results})
    except (LimitReached, ModelError) as exc:
        reason = str(exc)
        await events(TurnEvent("stopped", {"reason": reason}))
        return TurnResult(_answer(text_parts), messages, budget.usage, budget.cost, stopped=reason, calls=calls)
    await events(TurnEvent("done", {"usage": budget.usage.total, "cost": budget.cost}))
    return TurnResult(_answer(text_parts), messages, budget.usage, budget.cost, calls=calls)


def _answer(parts: list[str]) -> str:
    """The turn's text as every surface stores and shows it: no remote resource left in it."""
    return neutralise_remote("\n\n".join(parts)).text
