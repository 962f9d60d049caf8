"""Shared fixtures for the integration-client tests: a recording sleep, a fast retry policy, and the
real broker from ``tests/broker`` (for ``BrokerCredentials``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.broker.conftest import broker, clock  # noqa: F401 - re-exported fixtures
from tools._http import RetryPolicy

FIXED_NOW = datetime(2026, 11, 14, 12, 0, tzinfo=UTC)


class Sleeps:
    """An injected ``sleep`` that records each wait instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def policy(sleeps: Sleeps) -> RetryPolicy:
    """Deterministic: no jitter (random() == 0 gives the lower bound, half the backoff), a fixed clock."""
    return RetryPolicy(sleep=sleeps, random=lambda: 0.0, now=lambda: FIXED_NOW)
