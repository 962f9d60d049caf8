"""Building a grocery plan: nutrient values (FoodData Central when a key is stored, else the offline
table), the owner's settings and recent activity, the MILP planner, and the plan in plain words.

Quantities come only from the solver. The plain words (the list, the totals per day against the
goals) are rendered here from the stored plan, so the approval card shows exactly what is delivered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from mcp_servers.groceries.foods import Food
from mcp_servers.groceries.planner import Goals, Plan, plan
from mcp_servers.groceries.settings import Settings, goals_for
from tools.errors import AuthExpired
from tools.usda.client import UsdaClient
from tools.usda.models import FdcFood

OFFLINE = "offline table (USDA SR Legacy values)"
ONLINE = "USDA FoodData Central API"


class NoApiKey(Exception):
    """No FoodData Central key is stored: the offline table is used."""


def _match(food: Food, found: Sequence[FdcFood]) -> FdcFood | None:
    want = food.description.casefold()
    return next((f for f in found if f.description.casefold() == want and f.complete), None)


async def refresh(foods: Sequence[Food], usda: UsdaClient) -> tuple[list[Food], str, list[str]]:
    """The table's foods with FoodData Central's current values per 100 g. Without a stored key the
    offline values stand; a key the API refuses is an error (the owner must enter it again)."""
    try:
        await usda.get_credential("usda-api-key")
    except AuthExpired:
        return list(foods), OFFLINE, []
    out: list[Food] = []
    missing: list[str] = []
    for food in foods:
        hit = _match(food, await usda.search(food.description, page_size=5))
        if hit is None:
            missing.append(food.key)
            out.append(food)
            continue
        assert hit.kcal is not None and hit.protein_g is not None and hit.fat_g is not None
        assert hit.carbs_g is not None
        out.append(replace(food, kcal=hit.kcal, protein_g=hit.protein_g, fat_g=hit.fat_g, carbs_g=hit.carbs_g))
    return out, ONLINE, missing


def name_of(key: str) -> str:
    return key.replace("_", " ").capitalize()


def grams(value: float) -> str:
    return f"{value / 1000:.2f} kg".replace(".00 kg", " kg") if value >= 1000 else f"{value:.0f} g"


def build_body(
    foods: Sequence[Food],
    settings: Settings,
    start: dt.date,
    *,
    active_kcal: float | None,
    source: str,
    missing: Sequence[str],
) -> dict[str, Any]:
    """Solve and describe one plan (raises :class:`~mcp_servers.groceries.planner.Infeasible`)."""
    goals = goals_for(settings, active_kcal)
    solved = plan(foods, goals)
    return _body(solved, goals, start, active_kcal=active_kcal, source=source, missing=missing)


def _body(
    solved: Plan, goals: Goals, start: dt.date, *, active_kcal: float | None, source: str, missing: Sequence[str]
) -> dict[str, Any]:
    days = [
        {
            "date": (start + dt.timedelta(days=d.day - 1)).isoformat(),
            "protein_g": d.protein_g,
            "kcal": d.kcal,
            "fat_g": d.fat_g,
            "carbs_g": d.carbs_g,
            "cost_usd": d.cost_usd,
            "items": [{"key": i.key, "name": name_of(i.key), "grams": i.grams} for i in d.items],
        }
        for d in solved.days
    ]
    return {
        "start_date": start.isoformat(),
        "end_date": (start + dt.timedelta(days=goals.days - 1)).isoformat(),
        "goals": {
            "protein_min_g": goals.protein_min_g,
            "kcal_max": goals.kcal_max,
            "kcal_min": goals.kcal_min,
            "vegetables_min_g": goals.vegetables_min_g,
            "budget_usd": goals.budget_usd,
            "like": sorted(goals.like),
            "exclude": sorted(goals.exclude),
        },
        "active_kcal": None if active_kcal is None else round(active_kcal),
        "source": source,
        "not_found": list(missing),
        "days": days,
        "shopping": [
            {"key": i.key, "name": name_of(i.key), "description": i.description, "grams": i.grams}
            for i in solved.shopping
        ],
        "cost_usd": solved.cost_usd,
    }


def shopping_words(body: dict[str, Any]) -> str:
    """The list in plain words, one food a line."""
    return "\n".join(f"{i['name']}: {grams(i['grams'])}" for i in body["shopping"])


def day_label(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day:%a} {day.day} {day:%b}"


def totals_words(body: dict[str, Any]) -> str:
    """Each day's totals against the goals, one day a line."""
    g = body["goals"]
    lines = [
        f"{day_label(d['date'])}: protein {d['protein_g']:.0f} g (goal at least {g['protein_min_g']:.0f} g), "
        f"energy {d['kcal']:.0f} kcal (limit {g['kcal_max']:.0f} kcal)"
        for d in body["days"]
    ]
    budget = f" (budget {g['budget_usd']:.2f} USD)" if g.get("budget_usd") else ""
    lines.append(f"Estimated cost: {body['cost_usd']:.2f} USD{budget}")
    return "\n".join(lines)
