"""The Canvas server over the demo term: sync, the agent's questions, panels and the briefing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from integrations import Catalog, View, load_manifest, merged
from integrations.merged import merge
from integrations.views import render, resolve_args
from mcp_servers.canvas.models import CanvasAssignmentRow, CanvasCourseRow, CanvasGradePointRow
from storage.models import AuditRow
from tests.mcp_servers.canvas.conftest import NOW, TODAY, Canvas
from tests.mcp_servers.conftest import call, error_text
from tools.canvas.demo_data import term

pytestmark = pytest.mark.anyio
READ = "coursework.read"


async def _sync(c: Canvas) -> dict[str, Any]:
    out: dict[str, Any] = await call(c.client, c.tokens, "sync", {}, READ)
    return out


async def _count(c: Canvas, model: Any) -> int:
    async with c.db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def _names(result: dict[str, Any]) -> list[str]:
    return [a["name"] for a in result["assignments"]]


async def test_tools_are_the_manifests_and_need_a_token(canvas: Canvas) -> None:
    tools = {t.name for t in (await canvas.client.list_tools()).tools}
    manifest = load_manifest("canvas")
    assert {f"canvas.{t}" for t in tools} == set(manifest.tools)
    refused = await canvas.client.call_tool("deadlines", {"start": "2026-12-02", "end": "2026-12-08"})
    assert "missing_token" in error_text(refused)
    wrong_scope = await canvas.client.call_tool("disconnect", {}, meta=canvas.tokens.meta(READ))
    assert wrong_scope.is_error


async def test_sync_stores_the_term_encrypted_and_once(canvas: Canvas) -> None:
    first = await _sync(canvas)
    assert first == {"courses": 4, "assignments": len(term.ASSIGNMENTS), "announcements": 3, "events": 3}
    again = await _sync(canvas)
    assert again == first
    assert await _count(canvas, CanvasAssignmentRow) == len(term.ASSIGNMENTS)
    assert await _count(canvas, CanvasGradePointRow) == 3  # ENGL 103 has no score yet; one point a day
    async with canvas.db.transaction() as s:
        raw = b"".join((await s.scalars(select(CanvasAssignmentRow.data))).all())
        course = await s.scalar(select(CanvasCourseRow.data).where(CanvasCourseRow.id == "3301"))
        audits = (await s.scalars(select(AuditRow.action).where(AuditRow.action == "coursework.sync"))).all()
    assert b"Balanced trees" not in raw and b"grade-sync" not in raw
    assert course is not None and b"Data Structures" not in course
    assert len(audits) == 2


async def test_a_sync_that_fails_midway_changes_nothing(canvas: Canvas) -> None:
    canvas.edge.answer["/api/v1/announcements"] = httpx.Response(500, json={"errors": [{"message": "boom"}]})
    failed = await canvas.client.call_tool("sync", {}, meta=canvas.tokens.meta(READ))
    assert "unavailable" in error_text(failed)
    assert await _count(canvas, CanvasAssignmentRow) == 0
    canvas.edge.answer.clear()
    await _sync(canvas)
    assert await _count(canvas, CanvasAssignmentRow) == len(term.ASSIGNMENTS)


async def test_work_removed_from_canvas_is_removed_here(canvas: Canvas, monkeypatch: pytest.MonkeyPatch) -> None:
    await _sync(canvas)
    monkeypatch.setattr(term, "ASSIGNMENTS", [a for a in term.ASSIGNMENTS if a["id"] != 90418])
    await _sync(canvas)
    assert await _count(canvas, CanvasAssignmentRow) == len(term.ASSIGNMENTS)
    async with canvas.db.transaction() as s:
        assert await s.get(CanvasAssignmentRow, "90418") is None


async def test_whats_due_this_week(canvas: Canvas) -> None:
    await _sync(canvas)
    week = await call(canvas.client, canvas.tokens, "deadlines", {"start": "2026-12-02", "end": "2026-12-08"}, READ)
    assert _names(week) == [
        "Lab report 4: Capacitors",
        "Lab 7: Graph traversal",
        "Mastering: Chapter 7 homework",
        "Essay 2 draft",
        "Project 3: Balanced trees",
        "Homework 8",
    ]
    by_name = {a["name"]: a for a in week["assignments"]}
    assert by_name["Lab 7: Graph traversal"]["status"] == "submitted"
    assert (
        by_name["Lab report 4: Capacitors"] | {"course": "PHYS 102", "status": "not submitted"}
        == by_name["Lab report 4: Capacitors"]
    )
    assert by_name["Mastering: Chapter 7 homework"]["source"] == "Pearson Mastering"
    assert {s["item_id"] for s in week["sources"]} == {f"assignment:{a['id']}" for a in week["assignments"]}
    mine = await call(
        canvas.client,
        canvas.tokens,
        "deadlines",
        {"start": "2026-12-02", "end": "2026-12-08", "course": "cs260", "status": "not_submitted"},
        READ,
    )
    assert _names(mine) == ["Project 3: Balanced trees"]
    bad = await canvas.client.call_tool(
        "deadlines", {"start": "2026-12-08", "end": "2026-12-02"}, meta=canvas.tokens.meta(READ)
    )
    assert "end is before start" in error_text(bad)


async def test_my_grade_in_cs_260_and_its_history(canvas: Canvas) -> None:
    await _sync(canvas)
    out = await call(canvas.client, canvas.tokens, "grades", {"course": "CS 260"}, READ)
    assert [(c["code"], c["score"], c["grade"]) for c in out["courses"]] == [("CS 260", 88.4, "B+")]
    assert out["courses"][0]["history"] == [{"day": TODAY.isoformat(), "score": 88.4}]
    assert [(g["name"], g["score"], g["points"]) for g in out["graded"]] == [("Lab 6: Hash tables", 18.0, 20.0)]
    live = await call(canvas.client, canvas.tokens, "list_courses", {}, READ)
    assert [c["code"] for c in live["courses"]] == ["CS 260", "MATH 221", "PHYS 102", "ENGL 103"]


async def test_which_havent_i_started(canvas: Canvas) -> None:
    await _sync(canvas)
    out = await call(canvas.client, canvas.tokens, "not_started", {}, READ)
    assert _names(out) == [
        "Lab report 4: Capacitors",
        "Mastering: Chapter 7 homework",
        "Essay 2 draft",
        "Project 3: Balanced trees",
        "Problem set 5",
        "Midterm review quiz",
        "Essay 2 final",
        "Reading response (undated)",
    ]
    assert out["assignments"][-1]["due"] == "no due date"


async def test_the_description_is_returned_as_third_party_content(canvas: Canvas) -> None:
    await _sync(canvas)
    out = await call(canvas.client, canvas.tokens, "assignment", {"assignment_id": "90417"}, READ)
    assert term.EXFIL_ADDRESS in out["assignment"]["description"]
    assert out["sources"] == [
        {"channel": "coursework", "server": "canvas", "item_id": "assignment:90417", "principal": None}
    ]
    entries = Catalog.load().registry_tools()
    for tool in ("assignment", "announcements", "deadlines", "not_started", "grades", "calendar", "list_courses"):
        assert entries[f"canvas.{tool}"]["result"]["integrity"] == "UNTRUSTED"
    missing = await canvas.client.call_tool("assignment", {"assignment_id": "1"}, meta=canvas.tokens.meta(READ))
    assert "not found" in error_text(missing)


async def test_announcements_and_calendar(canvas: Canvas) -> None:
    await _sync(canvas)
    news = await call(canvas.client, canvas.tokens, "announcements", {"days": 7}, READ)
    assert [(a["course"], a["title"]) for a in news["announcements"]] == [
        ("CS 260", "Office hours moved"),
        ("PHYS 102", "Exam 2 grades posted"),
    ]
    end = (TODAY + timedelta(days=14)).isoformat()
    cal = await call(canvas.client, canvas.tokens, "calendar", {"start": TODAY.isoformat(), "end": end}, READ)
    assert [e["title"] for e in cal["events"]] == [
        "PHYS 102 recitation",
        "Writing center appointment",
        "CS 260 midterm",
    ]


async def test_a_revoked_token_asks_the_owner_to_reconnect(canvas: Canvas) -> None:
    canvas.credentials.set("canvas-token", "1770~revokedrevokedrevokedrevoked")
    out = await canvas.client.call_tool("list_courses", {}, meta=canvas.tokens.meta(READ))
    assert "reconnect" in error_text(out) and "revokedrevoked" not in error_text(out)
    assert canvas.credentials.invalidated == ["canvas-token"]


async def _view(canvas: Canvas, kind: str, view_id: str) -> list[str]:
    manifest = load_manifest("canvas")
    view = next(v for v in getattr(manifest, kind) if v.id == view_id)
    result = await call(canvas.client, canvas.tokens, view.tool.partition(".")[2], resolve_args(view.args, TODAY), READ)
    return render(view.render, result).lines()


async def _merged(canvas: Canvas, view: View) -> list[str]:
    """A core view merged across deadline sources, with Canvas the only one."""
    tool = load_manifest("canvas").deadlines
    assert tool == "canvas.deadlines"
    result = await call(canvas.client, canvas.tokens, "deadlines", resolve_args(view.args, TODAY), READ)
    return render(view.render, merge("assignments", [("Canvas", result)], sort_key="due_at")).lines()


async def test_the_deadlines_panel_and_the_briefing_section(canvas: Canvas) -> None:
    await _sync(canvas)
    panel = await _merged(canvas, merged.PANEL)
    assert panel[0] == "Due in 14 days: 8"
    assert panel[1] == "Wed 02 Dec 22:59 UTC Lab report 4: Capacitors: PHYS 102 · not submitted · Canvas"
    assert not any("Essay 2 final" in line for line in panel)  # due in 16 days
    briefing = await _merged(canvas, merged.BRIEFING)
    assert briefing == [
        "Mon 30 Nov 23:59 UTC Homework 4: Heaps: CS 260 · missing · Canvas",
        "Wed 02 Dec 22:59 UTC Lab report 4: Capacitors: PHYS 102 · not submitted · Canvas",
        "Thu 03 Dec 23:59 UTC Lab 7: Graph traversal: CS 260 · submitted · Canvas",
        "Fri 04 Dec 04:59 UTC Mastering: Chapter 7 homework: MATH 221 · not submitted · Pearson Mastering",
        "Sat 05 Dec 23:59 UTC Essay 2 draft: ENGL 103 · not submitted · Canvas",
    ]
    grades = await _view(canvas, "panels", "grades")
    assert "CS 260: B+ (88.4)" in grades


async def test_disconnect_deletes_everything(canvas: Canvas) -> None:
    await _sync(canvas)
    out = await call(canvas.client, canvas.tokens, "disconnect", {}, "coursework.link")
    assert out == {"removed": ["canvas-data"]}
    assert await _count(canvas, CanvasAssignmentRow) == 0 and await _count(canvas, CanvasCourseRow) == 0


async def test_grade_changes_over_the_week(canvas: Canvas, monkeypatch: pytest.MonkeyPatch) -> None:
    canvas.service._clock = lambda: NOW - timedelta(days=3)
    await _sync(canvas)
    raised = [
        (cid, code, name, 91.0 if code == "CS 260" else score, grade) for cid, code, name, score, grade in term.COURSES
    ]
    monkeypatch.setattr(term, "COURSES", raised)
    canvas.service._clock = lambda: NOW
    await _sync(canvas)
    out = await call(canvas.client, canvas.tokens, "grades", {"course": "CS 260", "days": 7}, READ)
    assert [h["score"] for h in out["courses"][0]["history"]] == [88.4, 91.0]
    assert out["courses"][0]["change"] == 2.6
    lines = await _view(canvas, "digest", "grade_changes")
    assert "CS 260: B+, change 2.6 (91.0)" in lines
