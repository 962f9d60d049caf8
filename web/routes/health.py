"""The health page: steps, sleep stages, resting heart rate, HRV, weight, active energy and workouts
over a week, a month or a year, every health source merged (web.health_page)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from integrations.health import ADDITIVE, SAME_WORKOUT
from web.data import console_data
from web.guard import CurrentPrincipal
from web.health_page import PERIODS, SERIES, STAGES, load_health
from web.state import console

router = APIRouter()


@router.get("/health/overview")
async def health_page(request: Request, principal: CurrentPrincipal) -> Response:
    c, data = console(request), console_data(request)
    view = await load_health(data, request.query_params.get("period", "week"))
    ctx = {
        "view": view,
        "periods": list(PERIODS),
        "series": SERIES,
        "sleep_series": [(label, view.series[key]) for key, label in STAGES],
        "additive": sorted(ADDITIVE),
        "same_workout_min": int(SAME_WORKOUT.total_seconds() // 60),
        "preferences": [(m.title, m.health.prefer) for m in data.catalog if m.health is not None and m.health.prefer],
        "csrf": c.keys.csrf_token(principal.session_id),
        "nav": "health",
    }
    return c.templates.TemplateResponse(request, "health.html", ctx)
