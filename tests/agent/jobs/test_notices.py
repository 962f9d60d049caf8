"""An integration job's result may carry a notice for the owner (a login about to end): it is sent
once per run, and only numbers go into the run history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from agent.jobs.engine import JobContext
from agent.jobs.handlers import sync_handler
from agent.jobs.ports import MemoryNotifier
from agent.jobs.schedule import load_schedule

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


class Runner:
    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result

    async def sync(self, integration: str, job_token: str, job_id: str) -> dict[str, Any]:
        return self.result


class Tokens:
    async def for_job(self, job_id: str, integration: str) -> str:
        return "job-token"


def _ctx() -> JobContext:
    spec = load_schedule("UTC").jobs["check_logins"]
    return JobContext("check_logins", "run-1", NOW, 1, NOW, spec.trigger.timezone, spec, None)


async def test_a_notice_in_the_result_reaches_the_owner_and_stays_out_of_the_history() -> None:
    notes = MemoryNotifier()
    result = {"hours_left": 20, "reconnect": True, "notice": {"title": "Reconnect before Fri", "body": "Open it."}}
    out = await sync_handler("broker", Runner(result), Tokens(), notes)(_ctx())
    assert out == {"integration": "broker", "hours_left": 20, "reconnect": True, "notified": True}
    assert [(n.kind, n.title, n.body, n.ref) for n in notes.sent] == [
        ("integration_notice", "Reconnect before Fri", "Open it.", "broker")
    ]


async def test_no_notice_no_message() -> None:
    notes = MemoryNotifier()
    out = await sync_handler("broker", Runner({"hours_left": 100, "reconnect": False}), Tokens(), notes)(_ctx())
    assert "notified" not in out and notes.sent == []


def test_the_login_check_runs_daily_by_default() -> None:
    spec = load_schedule("UTC").jobs["check_logins"]
    assert spec.enabled and spec.when.startswith("every 1d")
