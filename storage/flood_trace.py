"""Aggregated audit traces for floods (429s, unknown routes), shared by the broker and the console.

The first refusal of a kind from a source in a window is written at once, as an ordinary row; the
rest of that window only count. When the window is over (seen at the next refusal, or at
:meth:`FloodTrace.flush`), one summary row gives the count. A flood of any size costs at most two
rows per kind, source and window; the number of tracked sources is bounded too (the excess shares
one ``"other"`` bucket).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

# write(kind, source, count, first, context): count is 1 for the first row, the total for a summary.
Writer = Callable[[str, str, int, bool, Any], Awaitable[None]]


@dataclass
class _Window:
    start: float
    count: int
    context: Any


@dataclass
class FloodTrace:
    write: Writer
    window: float = 60.0
    clock: Callable[[], float] = time.monotonic
    max_sources: int = 1000
    _open: dict[tuple[str, str], _Window] = field(default_factory=dict)

    async def note(self, kind: str, source: str, context: Any = None) -> None:
        now = self.clock()
        await self._close_due(now)
        key = (kind, source)
        if key not in self._open and len(self._open) >= self.max_sources:
            key = (kind, "other")
        entry = self._open.get(key)
        if entry is not None:
            entry.count += 1
            entry.context = context
            return
        self._open[key] = _Window(now, 1, context)
        await self.write(kind, key[1], 1, True, context)

    async def close_due(self) -> None:
        """Write the summaries of the windows that are over (cheap when nothing is open)."""
        if self._open:
            await self._close_due(self.clock())

    async def flush(self) -> None:
        """Write the summary of every open window (at shutdown)."""
        await self._close_due(float("inf"))

    async def _close_due(self, now: float) -> None:
        due = [(k, w) for k, w in self._open.items() if now - w.start >= self.window]
        for key, w in due:
            del self._open[key]
            if w.count > 1:
                await self.write(key[0], key[1], w.count, False, w.context)
