"""In-process token buckets (the broker runs as one process)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimiter:
    """``rate`` tokens per second, bursts up to ``burst``. ``check`` returns 0 or the seconds to wait."""

    rate: float
    burst: float
    clock: Callable[[], float]
    max_keys: int = 10_000
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def check(self, key: str, cost: float = 1.0) -> int:
        now = self.clock()
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= self.max_keys:
                self._buckets.clear()
            b = self._buckets[key] = _Bucket(self.burst, now)
        b.tokens = min(self.burst, b.tokens + (now - b.stamp) * self.rate)
        b.stamp = now
        if b.tokens >= cost:
            b.tokens -= cost
            return 0
        return max(1, math.ceil((cost - b.tokens) / self.rate))
