"""The agent as `aegis up` builds it: a real broker, both MCP servers as their own processes (demo
data), per-call broker tokens, the gateway, approvals, and jobs under exchanged job tokens."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from aegis.agent_root import AgentRuntime, build_agent
from aegis.console_root import console_keyring
from aegis.runtime import build_context
from aegis.settings import Settings
from agent.jobs import RunView
from agent.model import ScriptedModel, ScriptedStep, ToolCall
from integrations.installed import INSTALLED
from storage.db import Database
from tests.broker.conftest import FakeClock, start_broker

pytestmark = pytest.mark.anyio


class RealClock(FakeClock):
    def __call__(self) -> float:
        return time.time()


@pytest.fixture
async def runtime(db_url: str, tmp_path: Path) -> AsyncIterator[AgentRuntime]:
    server, task, state, url = await start_broker(db_url, tmp_path / "broker", RealClock())
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    token_file = data / "broker-admin.token"
    token_file.write_text(state.config.admin_token)
    os.chmod(token_file, 0o600)
    settings = Settings(
        data_dir=data,
        database_url=db_url,
        broker_url=url,
        broker_issuer="http://broker.test",
        secrets_dir=tmp_path / "no-secrets",
        demo=True,
    )
    ctx = build_context(settings)
    db = Database(db_url)
    rt = await build_agent(ctx, db, await console_keyring(ctx))
    try:
        yield rt
    finally:
        await rt.close()
        await db.dispose()
        server.should_exit = True
        await task


async def test_chat_reads_through_the_gateway_and_a_send_waits_for_approval(runtime: AgentRuntime) -> None:
    svc = runtime.services
    assert {n: s["up"] for n, s in svc.host.status().items()} == dict.fromkeys(INSTALLED, True)
    assert svc.calls is not None
    await svc.calls.console_call("plaid.sandbox_connect", {})
    svc.chat.model = ScriptedModel(
        [
            ScriptedStep(tool_calls=[ToolCall("c1", "plaid__balances", {})]),
            ScriptedStep(text="Your checking balance is shown above."),
            ScriptedStep(
                tool_calls=[
                    ToolCall(
                        "c2", "gmail__send", {"to": ["dana@example.com"], "subject": "Hi", "body": "See you at 6."}
                    )
                ]
            ),
            ScriptedStep(text="The email waits for your approval."),
        ]
    )
    cid = await svc.conversations.create("test")
    first = await svc.chat.turn(cid, "What's my balance?")
    ((_call, outcome),) = first.calls
    assert json.loads(outcome.content)["status"] == "ok" and outcome.meta["tool"] == "plaid.balances"
    assert json.loads(outcome.content)["result"]["accounts"]

    # The owner named no address: the model chose it, with the balances in its context. Held.
    second = await svc.chat.turn(cid, "Email Dana that I will see her at 6.")
    ((_, pending),) = second.calls
    body = json.loads(pending.content)
    assert body["status"] == "approval_required", body
    approval_id = pending.meta["approval_id"]
    queued = await svc.approvals.pending()
    assert [p.approval_id for p in queued] == [approval_id]
    card = queued[0].card
    assert card.tool == "gmail.send" and {a.name for a in card.args} >= {"to", "subject", "body"}

    result = await svc.approvals.approve(approval_id, step_up_done=True)
    assert result.status.value == "ok", result.to_model()
    assert await svc.approvals.pending() == []
    notes = await svc.conversations.history(cid)
    assert "approved gmail.send" in json.dumps(notes[-1])


async def _finished(runtime: AgentRuntime, run_id: str) -> RunView:
    scheduler = runtime.services.scheduler
    assert scheduler is not None
    async with asyncio.timeout(30):
        while True:
            view = await scheduler.run(run_id)
            if view is not None and view.outcome not in ("pending", "running"):
                return view
            await asyncio.sleep(0.05)


async def test_a_sync_job_runs_through_the_gateway_under_an_exchanged_token(runtime: AgentRuntime) -> None:
    svc = runtime.services
    assert svc.scheduler is not None
    view = await _finished(runtime, await svc.scheduler.run_now("sync_emails"))
    assert view.outcome == "ok", view
    assert view.summary, view
    calendar = await _finished(runtime, await svc.scheduler.run_now("sync_calendar"))
    # One shared job syncs every calendar: the summary reads per integration.
    assert calendar.outcome == "ok" and calendar.summary, calendar
    assert set(calendar.summary) == {"gcalendar", "outlook"}, calendar
    for line in calendar.summary.values():
        stored = int(str(line).split(",")[0].removeprefix("stored "))
        assert stored > 0, calendar
    # The net worth snapshot reads each money integration's part through the gateway (the demo
    # brokerage is connected; no bank is linked yet) and stores the day once, whatever reruns.
    worth = await _finished(runtime, await svc.scheduler.run_now("net_worth_snapshot"))
    assert worth.outcome == "ok" and worth.summary and worth.summary["parts"] == 1, worth
    assert worth.summary["missing"] == 0 and int(str(worth.summary["written"])) >= 60, worth
    again = await _finished(runtime, await svc.scheduler.run_now("net_worth_snapshot"))
    assert again.outcome == "ok" and again.summary and again.summary["written"] == 1, again  # today, replaced
    book = runtime.data.net_worth
    assert book is not None and len(await book.store.between(book.start(worth_day(worth)), worth_day(worth))) >= 60


def worth_day(view: RunView) -> date:
    assert view.summary is not None
    return date.fromisoformat(str(view.summary["day"]))
