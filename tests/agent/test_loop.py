from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from agent.limits import Budget, MemoryLedger, Prices, TurnLimits
from agent.loop import ToolOutcome, TurnEvent, run_turn
from agent.model import Message, ModelError, ScriptedModel, ScriptedStep, ToolCall, ToolSpec, Usage

pytestmark = pytest.mark.anyio
NOON = datetime(2026, 11, 23, 12, tzinfo=UTC)


class Tools:
    def __init__(self, barrier: asyncio.Barrier | None = None) -> None:
        self.barrier = barrier
        self.ran: list[str] = []

    def specs(self) -> Sequence[ToolSpec]:
        return [ToolSpec("t__a", "A.", {"type": "object"}), ToolSpec("t__b", "B.", {"type": "object"})]

    async def run(self, call: ToolCall) -> ToolOutcome:
        if self.barrier is not None:
            await self.barrier.wait()  # only passes if both calls are in flight together
        self.ran.append(call.name)
        return ToolOutcome(f"result of {call.name}")


def budget(limits: TurnLimits | None = None, ledger: MemoryLedger | None = None) -> Budget:
    return Budget(limits or TurnLimits(), Prices(), ledger or MemoryLedger(), clock=lambda: NOON)


async def test_parallel_tool_calls_run_concurrently_and_results_return_in_one_message() -> None:
    model = ScriptedModel(
        [
            ScriptedStep(tool_calls=[ToolCall("1", "t__a", {}), ToolCall("2", "t__b", {})]),
            ScriptedStep(text="Both done."),
        ]
    )
    tools = Tools(asyncio.Barrier(2))
    events: list[TurnEvent] = []

    async def sink(e: TurnEvent) -> None:
        events.append(e)

    async with asyncio.timeout(5):
        result = await run_turn(model, tools, [], "do both", system="sys", budget=budget(), events=sink)
    assert result.stopped is None and result.text == "Both done."
    assert sorted(tools.ran) == ["t__a", "t__b"]
    last_user: Message = model.requests[1]["messages"][-1]
    assert [b["tool_use_id"] for b in last_user["content"]] == ["1", "2"]
    assert [e.kind for e in events].count("tool_result") == 2 and events[-1].kind == "done"


async def test_the_step_limit_stops_the_turn_with_a_clear_message() -> None:
    loop_forever = ScriptedModel(lambda m, t: ScriptedStep(tool_calls=[ToolCall(str(len(m)), "t__a", {})]))
    result = await run_turn(loop_forever, Tools(), [], "go", system="s", budget=budget(TurnLimits(max_steps=3)))
    assert result.stopped is not None and "3 model steps" in result.stopped
    assert len(loop_forever.requests) == 3


async def test_turn_token_and_cost_limits_fail_closed() -> None:
    big = ScriptedModel([ScriptedStep(text="x", usage=Usage(900_000, 10))])
    result = await run_turn(big, Tools(), [], "go", system="s", budget=budget())
    assert result.stopped is not None and "max_tokens_per_turn" in result.stopped
    pricey = ScriptedModel([ScriptedStep(tool_calls=[ToolCall("1", "t__a", {})], usage=Usage(100_000, 50_000))])
    result = await run_turn(pricey, Tools(), [], "go", system="s", budget=budget())
    assert result.stopped is not None and "max_cost_per_turn" in result.stopped
    assert result.calls == []  # the tool call after the over-budget step never ran


async def test_the_daily_budget_is_shared_across_turns_and_blocks_the_next_model_call() -> None:
    ledger = MemoryLedger()
    limits = TurnLimits(max_cost_per_day=0.05)
    model = ScriptedModel([ScriptedStep(text="a", usage=Usage(10_000, 2_000))] * 3)
    first = await run_turn(model, Tools(), [], "1", system="s", budget=budget(limits, ledger))
    assert first.stopped is None and first.cost == pytest.approx(0.06)
    second = await run_turn(model, Tools(), [], "2", system="s", budget=budget(limits, ledger))
    assert second.stopped is not None and "today's model budget" in second.stopped
    assert len(model.requests) == 1


async def test_too_many_tool_calls_in_a_turn_are_refused_before_running() -> None:
    many = ScriptedModel([ScriptedStep(tool_calls=[ToolCall(str(i), "t__a", {}) for i in range(5)])])
    tools = Tools()
    result = await run_turn(many, tools, [], "go", system="s", budget=budget(TurnLimits(max_tool_calls=4)))
    assert result.stopped is not None and "tool calls" in result.stopped and tools.ran == []


async def test_a_model_error_ends_the_turn_with_its_message() -> None:
    def fail(_m: Sequence[Message], _t: Sequence[ToolSpec]) -> ScriptedStep:
        raise ModelError("cannot reach Claude (network)")

    result = await run_turn(ScriptedModel(fail), Tools(), [], "go", system="s", budget=budget())
    assert result.stopped == "cannot reach Claude (network)"
