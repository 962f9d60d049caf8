"""Limits on what one turn, and one day, may spend. Reaching one stops the turn with a clear message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

from agent.model import Usage


@dataclass(frozen=True)
class Prices:
    """USD per million tokens. Configurable: set them to the owner's contract prices."""

    input: float = 3.0
    output: float = 15.0
    cache_read: float = 0.3
    cache_write: float = 3.75

    def cost(self, u: Usage) -> float:
        return (
            u.input_tokens * self.input
            + u.output_tokens * self.output
            + u.cache_read_tokens * self.cache_read
            + u.cache_write_tokens * self.cache_write
        ) / 1_000_000


@dataclass(frozen=True)
class TurnLimits:
    max_steps: int = 8
    max_tool_calls: int = 24
    max_tokens_per_turn: int = 200_000
    max_cost_per_turn: float = 1.0
    max_output_tokens: int = 4096
    max_tokens_per_day: int = 2_000_000
    max_cost_per_day: float = 10.0


class LimitReached(Exception):
    """A limit stopped the turn. The message says which and how to raise it."""


class DailyLedger(Protocol):
    async def spent(self, day: date) -> tuple[int, float]: ...

    async def add(self, day: date, tokens: int, cost: float) -> None: ...


@dataclass
class MemoryLedger:
    """Daily spend kept in memory (tests). The console uses a database ledger so restarts keep it."""

    days: dict[date, tuple[int, float]] = field(default_factory=dict)

    async def spent(self, day: date) -> tuple[int, float]:
        return self.days.get(day, (0, 0.0))

    async def add(self, day: date, tokens: int, cost: float) -> None:
        t, c = self.days.get(day, (0, 0.0))
        self.days[day] = (t + tokens, c + cost)


@dataclass
class Budget:
    limits: TurnLimits
    prices: Prices
    ledger: DailyLedger
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    usage: Usage = field(default_factory=Usage)
    steps: int = 0
    tool_calls: int = 0

    @property
    def cost(self) -> float:
        return self.prices.cost(self.usage)

    async def before_step(self) -> None:
        lim = self.limits
        if self.steps >= lim.max_steps:
            raise LimitReached(f"stopped after {lim.max_steps} model steps this turn (limit max_steps)")
        tokens, cost = await self.ledger.spent(self.clock().date())
        if tokens >= lim.max_tokens_per_day or cost >= lim.max_cost_per_day:
            raise LimitReached(
                f"today's model budget is used up ({tokens} tokens, ${cost:.2f} of ${lim.max_cost_per_day:.2f}); "
                "it resets at midnight, or raise max_cost_per_day"
            )
        self.steps += 1

    async def after_step(self, used: Usage) -> None:
        self.usage = self.usage + used
        await self.ledger.add(self.clock().date(), used.total, self.prices.cost(used))
        lim = self.limits
        if self.usage.total > lim.max_tokens_per_turn:
            raise LimitReached(f"this turn used {self.usage.total} tokens (limit max_tokens_per_turn)")
        if self.cost > lim.max_cost_per_turn:
            raise LimitReached(
                f"this turn cost ${self.cost:.2f} (limit max_cost_per_turn ${lim.max_cost_per_turn:.2f})"
            )

    def take_tool_calls(self, n: int) -> None:
        if self.tool_calls + n > self.limits.max_tool_calls:
            raise LimitReached(f"this turn asked for more than {self.limits.max_tool_calls} tool calls (limit)")
        self.tool_calls += n
