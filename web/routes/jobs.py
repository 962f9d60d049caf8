"""Recurring work in the console (issue 7): the owner's jobs with their next run, the run history,
"run now", pause and resume, failure alerts, notifications, and the stored briefings and digests.

The controls are console actions: besides the guard's ``access.write`` row, each one is audited as
``job.run_now`` / ``job.pause`` / ``job.resume`` with its result. Without an agent (or without a
scheduler in it) the pages say the scheduler is not running and the API answers 503.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from agent.jobs import BriefingStore, JobBusy, JobScheduler, Notification, NotificationFeed, RunPage
from agent.services import AgentServices
from web.auditing import ADMIN
from web.errors import ConsoleError, NotFound
from web.guard import CurrentPrincipal, Principal
from web.routes import jobs_view as view
from web.state import console

router = APIRouter()

JOB_ID = r"^([a-z][a-z0-9_]{0,63})?$"  # empty: "All jobs" in the filter form
PAGE = 25
ALERT_SCAN = 200
MAX_NOTIFICATIONS = 20
NOTICES = {
    "run": "{job}: run started. Its outcome appears in the history below.",
    "pause": "{job} is paused: scheduled slots will not run until you resume it.",
    "resume": "{job} is resumed from its next slot.",
    "busy": "{job} is already running: wait for that run to finish.",
}

JobFilter = Annotated[str | None, Query(max_length=64, pattern=JOB_ID)]
Cursor = Annotated[str | None, Query(max_length=128)]
Limit = Annotated[int, Query(ge=1, le=200)]


class SchedulerNotRunning(ConsoleError):
    status = 503
    code = "scheduler_not_running"


class JobAlreadyRunning(ConsoleError):
    status = 409
    code = "job_busy"


def _agent(request: Request) -> AgentServices | None:
    found = getattr(request.app.state, "agent", None)
    return found if isinstance(found, AgentServices) else None


def scheduler_of(request: Request) -> JobScheduler | None:
    agent = _agent(request)
    return None if agent is None else agent.scheduler


def _need_scheduler(request: Request) -> JobScheduler:
    found = scheduler_of(request)
    if found is None:
        raise SchedulerNotRunning("no job scheduler in this console")
    return found


def _briefings(request: Request) -> BriefingStore | None:
    agent = _agent(request)
    return None if agent is None else agent.briefings


async def _still_open(
    request: Request, notes: list[tuple[datetime, Notification]]
) -> list[tuple[datetime, Notification]]:
    """An "Approval needed" notification goes once its approval is decided (or gone)."""
    agent = _agent(request)
    if agent is None or not any(n.kind == "approval" for _, n in notes):
        return notes
    waiting = {p.approval_id for p in await agent.approvals.pending()}
    return [(at, n) for at, n in notes if n.kind != "approval" or n.ref in waiting]


def _notifier(request: Request) -> NotificationFeed | None:
    agent = _agent(request)
    return None if agent is None else agent.notifier


def _tz(scheduler: JobScheduler | None) -> ZoneInfo:
    return scheduler.engine.schedule.timezone if scheduler is not None else ZoneInfo("UTC")


def _known(scheduler: JobScheduler, job_id: str) -> None:
    if job_id not in scheduler.engine.schedule.jobs:
        raise NotFound("no such job")


async def _runs(scheduler: JobScheduler, job: str | None, limit: int, cursor: str | None) -> RunPage:
    try:
        return await scheduler.runs(job_id=job or None, limit=limit, cursor=cursor or None)
    except ValueError:
        raise ConsoleError("bad cursor") from None


# --- the controls ---------------------------------------------------------------------------------


async def _audit(
    request: Request, principal: Principal, action: str, job_id: str, result: str, reason: str | None, **details: Any
) -> None:
    c = console(request)
    async with c.db.transaction() as s:
        await c.auditor.record(
            s,
            request,
            actor=ADMIN,
            action=action,
            result=result,
            reason=reason,
            resource=f"job:{job_id}",
            details={"sid": principal.session_id, **details},
        )


async def _act(request: Request, principal: Principal, job_id: str, what: str) -> dict[str, Any]:
    """Run now, pause or resume one job, audited either way."""
    scheduler = _need_scheduler(request)
    _known(scheduler, job_id)
    action = {"run": "job.run_now", "pause": "job.pause", "resume": "job.resume"}[what]
    out: dict[str, Any]
    try:
        if what == "run":
            out = {"run_id": await scheduler.run_now(job_id)}
        elif what == "pause":
            await scheduler.pause(job_id)
            out = {"paused": True, "next_run_at": None}
        else:
            out = {"paused": False, "next_run_at": view.iso(await scheduler.resume(job_id))}
    except JobBusy:
        await _audit(request, principal, action, job_id, "fail", "busy")
        raise JobAlreadyRunning(f"{job_id} is already running") from None
    await _audit(request, principal, action, job_id, "ok", None, **out)
    return {"job": job_id, **out}


@router.post("/api/jobs/{job_id}/run")
async def api_run(request: Request, job_id: str, principal: CurrentPrincipal) -> JSONResponse:
    return JSONResponse(await _act(request, principal, job_id, "run"), status_code=202)


@router.post("/api/jobs/{job_id}/pause")
async def api_pause(request: Request, job_id: str, principal: CurrentPrincipal) -> JSONResponse:
    return JSONResponse(await _act(request, principal, job_id, "pause"))


@router.post("/api/jobs/{job_id}/resume")
async def api_resume(request: Request, job_id: str, principal: CurrentPrincipal) -> JSONResponse:
    return JSONResponse(await _act(request, principal, job_id, "resume"))


async def _form(request: Request, principal: Principal, job_id: str, what: str) -> Response:
    try:
        await _act(request, principal, job_id, what)
    except JobAlreadyRunning:
        what = "busy"
    except SchedulerNotRunning:
        return RedirectResponse("/jobs", status_code=303)  # the page says why
    return RedirectResponse("/jobs?" + urlencode({"done": what, "target": job_id}), status_code=303)


@router.post("/jobs/{job_id}/run")
async def form_run(request: Request, job_id: str, principal: CurrentPrincipal) -> Response:
    return await _form(request, principal, job_id, "run")


@router.post("/jobs/{job_id}/pause")
async def form_pause(request: Request, job_id: str, principal: CurrentPrincipal) -> Response:
    return await _form(request, principal, job_id, "pause")


@router.post("/jobs/{job_id}/resume")
async def form_resume(request: Request, job_id: str, principal: CurrentPrincipal) -> Response:
    return await _form(request, principal, job_id, "resume")


# --- reading ----------------------------------------------------------------------------------------


@router.get("/api/jobs")
async def api_jobs(request: Request, _p: CurrentPrincipal) -> JSONResponse:
    scheduler = _need_scheduler(request)
    tz = _tz(scheduler)
    jobs = [view.job_json(j, tz) for j in await view.job_list(scheduler)]
    return JSONResponse({"running": scheduler.running, "timezone": str(tz), "jobs": jobs})


@router.get("/api/jobs/runs")
async def api_runs(
    request: Request, _p: CurrentPrincipal, job: JobFilter = None, cursor: Cursor = None, limit: Limit = PAGE
) -> JSONResponse:
    page = await _runs(_need_scheduler(request), job, limit, cursor)
    return JSONResponse({"items": [view.run_json(r) for r in page.items], "next_cursor": page.next_cursor})


@router.get("/api/jobs/runs/{run_id}")
async def api_run_detail(request: Request, run_id: str, _p: CurrentPrincipal) -> JSONResponse:
    found = await _need_scheduler(request).run(run_id) if len(run_id) <= 36 else None
    if found is None:
        raise NotFound("no such run")
    return JSONResponse(view.run_json(found))


def _base(request: Request, principal: Principal, nav: str) -> dict[str, Any]:
    c = console(request)
    scheduler = scheduler_of(request)
    return {
        "nav": nav,
        "csrf": c.keys.csrf_token(principal.session_id),
        "available": scheduler is not None,
        "running": scheduler is not None and scheduler.running,
        "tz": str(_tz(scheduler)),
    }


@router.get("/jobs")
async def jobs_page(
    request: Request,
    principal: CurrentPrincipal,
    job: JobFilter = None,
    cursor: Cursor = None,
    limit: Limit = PAGE,
    done: Annotated[str | None, Query(max_length=16)] = None,
    target: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """``done`` and ``target``: the notice after a control's redirect (``job`` filters the history)."""
    c = console(request)
    ctx = _base(request, principal, "jobs") | {"jobs": [], "runs": [], "alerts": [], "notifications": []}
    ctx |= {"job": job or "", "cursor": cursor, "next_cursor": None, "notice": None, "job_ids": []}
    scheduler = scheduler_of(request)
    if scheduler is not None:
        tz = _tz(scheduler)
        ctx["jobs"] = [view.job_page(j, tz) for j in await view.job_list(scheduler)]
        ctx["job_ids"] = list(scheduler.engine.schedule.jobs)
        page = await _runs(scheduler, job, limit, cursor)
        ctx["runs"] = [view.run_page(r, tz) for r in page.items]
        if page.next_cursor:
            older = {"job": job, "limit": limit if limit != PAGE else None, "cursor": page.next_cursor}
            ctx["next_cursor"] = "/jobs?" + urlencode({k: v for k, v in older.items() if v})
        recent = (await scheduler.runs(limit=ALERT_SCAN)).items
        ctx["alerts"] = [view.run_page(r, tz) for r in recent if r.outcome == "failed"][:10]
        if done in NOTICES and target in scheduler.engine.schedule.jobs:
            ctx["notice"] = NOTICES[done].format(job=target)
    notifier = _notifier(request)
    if notifier is not None:
        notes = await notifier.recent(MAX_NOTIFICATIONS)
        ctx["notifications"] = [view.notification_page(n, at) for at, n in await _still_open(request, notes)]
    return c.templates.TemplateResponse(request, "jobs.html", ctx)


# --- briefings ----------------------------------------------------------------------------------------


@router.get("/briefings")
async def briefings_page(
    request: Request,
    principal: CurrentPrincipal,
    kind: Annotated[str | None, Query(pattern=r"^(daily|weekly)?$")] = None,
) -> Response:
    c = console(request)
    store = _briefings(request)
    tz = _tz(scheduler_of(request))
    ctx = _base(request, principal, "briefings") | {"items": [], "kind": kind or "", "store": store is not None}
    if store is not None:
        infos = await store.recent(kind=kind or None, limit=50)
        ctx["items"] = [view.briefing_row(i.id, i.kind, i.for_date, i.created_at, tz) for i in infos]
    return c.templates.TemplateResponse(request, "briefings.html", ctx)


@router.get("/briefings/{briefing_id}")
async def briefing_page(request: Request, briefing_id: str, principal: CurrentPrincipal) -> Response:
    c = console(request)
    store = _briefings(request)
    doc = await store.get(briefing_id) if store is not None and len(briefing_id) <= 36 else None
    if doc is None:
        raise NotFound("no such briefing")
    ctx = _base(request, principal, "briefings") | {"doc": view.briefing_page(doc), "id": briefing_id}
    return c.templates.TemplateResponse(request, "briefing.html", ctx)
