"""Budgets (R6): calls per day and money per day, per tool. Bounds even a rubber-stamp approver."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Protocol

__all__ = ["BudgetLedger", "InMemoryLedger"]


class BudgetLedger(Protocol):
    def calls_on(self, tool: str, day: date) -> int: ...

    def amount_on(self, tool: str, day: date) -> float: ...

    def record(self, tool: str, when: datetime, amount: float = 0.0) -> None:
        """Called by the gateway after a side effect was executed."""
        ...


class InMemoryLedger:
    def __init__(self) -> None:
        self._calls: defaultdict[tuple[str, date], int] = defaultdict(int)
        self._amounts: defaultdict[tuple[str, date], float] = defaultdict(float)

    def calls_on(self, tool: str, day: date) -> int:
        return self._calls[(tool, day)]

    def amount_on(self, tool: str, day: date) -> float:
        return self._amounts[(tool, day)]

    def record(self, tool: str, when: datetime, amount: float = 0.0) -> None:
        self._calls[(tool, when.date())] += 1
        self._amounts[(tool, when.date())] += amount
