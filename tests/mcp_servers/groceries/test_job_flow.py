"""The grocery_order job end to end over the real gateway: the job plans the next days through the
groceries MCP server, the delivery is held for the owner's approval (a card with the list and each
day's totals against the goals, and a notification), and approving it delivers exactly that plan."""

from __future__ import annotations

from typing import Any

import pytest

from agent.gateway.approvals import ApprovalState, NotApprovable
from agent.gateway.gateway import GatewayStatus
from agent.jobs import JobError
from agent.notifications import console_path
from integrations import Catalog
from integrations.views import render
from mcp_servers.groceries.settings import Settings
from storage.audit import AuditEvent
from storage.models.base import utcnow
from tests.mcp_servers.groceries.conftest import START, Rig

pytestmark = pytest.mark.anyio


async def _run_job(rig: Rig) -> dict[str, Any]:
    return await rig.calls.sync("groceries", "job-token", "grocery_order")


async def test_the_job_plans_and_holds_the_delivery_for_approval_with_totals_per_day(rig: Rig) -> None:
    summary = await _run_job(rig)
    aid = summary["approval"]
    pending = await rig.parts.services.approvals.get(aid)
    assert pending is not None and pending.state is ApprovalState.PENDING
    assert pending.tool == "groceries.deliver" and pending.session_id == "job:grocery_order"
    card = {a.name: "\n".join(a.lines) for a in pending.card.args}
    assert card["plan_id"] == f"plan-{START}"
    totals = card["totals"].splitlines()
    assert len(totals) == 5 and totals[0].startswith("Thu 3 Dec: protein")
    for line in totals[:4]:  # each day against the goals, in plain words, and met
        protein = float(line.split("protein ")[1].split(" g")[0])
        energy = float(line.split("energy ")[1].split(" kcal")[0])
        assert protein >= 175 and energy <= 1900 and "goal at least 175 g" in line and "limit 1900 kcal" in line
    assert "kg" in card["shopping_list"] or " g" in card["shopping_list"]
    stored = await rig.store.get(f"plan-{START}")
    assert stored is not None and stored.status == "waiting"
    notes = await rig.parts.notifier.recent(limit=10)
    assert any(n.kind == "approval" and n.ref == aid for _, n in notes)


async def test_approving_delivers_exactly_that_plan_once(rig: Rig) -> None:
    aid = (await _run_job(rig))["approval"]
    result = await rig.parts.services.approvals.approve(aid, step_up_done=True)
    assert result.status is GatewayStatus.OK, result.content
    assert result.content["page"] == f"/integrations/groceries/pages/plan?id=plan-{START}"
    assert result.content["mail_subject"] == "Grocery list for Thu 3 Dec to Sun 6 Dec"
    assert "Each day against your goals:" in result.content["mail_body"]
    stored = await rig.store.get(f"plan-{START}")
    assert stored is not None and stored.status == "approved" and stored.approved_at is not None
    notes = [n for _, n in await rig.parts.notifier.recent(limit=10) if n.kind == "delivery"]
    assert [n.title for n in notes] == ["Grocery list for Thu 3 Dec to Sun 6 Dec"]
    assert console_path(notes[0]) == result.content["page"] and "Buy:" in notes[0].body
    with pytest.raises(NotApprovable):  # approving is once
        await rig.parts.services.approvals.approve(aid, step_up_done=True)
    with pytest.raises(JobError, match="approved already"):  # the next run never replaces an approved plan
        await _run_job(rig)


async def test_a_rejected_plan_is_not_delivered_and_the_next_run_replaces_it(rig: Rig) -> None:
    aid = (await _run_job(rig))["approval"]
    await rig.parts.services.approvals.reject(aid, "no fish this week")
    stored = await rig.store.get(f"plan-{START}")
    assert stored is not None and stored.status == "waiting"
    await rig.store.save_settings(Settings(exclude=("fish",)), _event())
    again = await _run_job(rig)
    assert again["approval"] != aid
    replaced = await rig.store.get(f"plan-{START}")
    assert replaced is not None and not any(i["key"] in ("salmon", "tuna", "cod") for i in replaced.body["shopping"])


async def test_an_infeasible_goal_fails_the_job_with_the_reason_and_proposes_nothing(rig: Rig) -> None:
    await rig.store.save_settings(Settings(exclude=("meat", "fish", "egg", "dairy")), _event())
    with pytest.raises(JobError, match="protein"):
        await _run_job(rig)
    assert await rig.parts.services.approvals.pending() == []
    assert await rig.store.latest() is None


def _event() -> AuditEvent:
    return AuditEvent("test", "groceries.settings", "ok", resource="mcp:groceries", details={"at": str(utcnow())})


async def test_the_home_panel_and_the_briefing_line_read_the_waiting_plan(rig: Rig) -> None:
    manifest = Catalog.load().get("groceries")
    assert manifest is not None
    (panel,), (line,) = manifest.panels, manifest.briefing
    before = render(line.render, await rig.calls.call(line.tool, {}, session="job:daily_briefing"))
    assert before.lines() == [] and before.empty == "No grocery list waits for your approval."
    await _run_job(rig)
    briefing = render(line.render, await rig.calls.call(line.tool, {}, session="job:daily_briefing"))
    assert briefing.lines() == [
        "A grocery list for Thu 3 Dec to Sun 6 Dec waits for your approval: Estimated cost: 23.12 USD"
    ]
    home = render(panel.render, await rig.calls.call(panel.tool, {}, session="console"))
    assert [i.title for i in home.items] == ["Thu 3 Dec", "Fri 4 Dec", "Sat 5 Dec", "Sun 6 Dec"]
    assert all("g protein" in i.detail and "meets your goals" in i.detail for i in home.items)
