"""A plan as a printable document (the console renders it: ``title``, ``subtitle``, ``sections``)."""

from __future__ import annotations

from typing import Any

from mcp_servers.groceries.service import day_label, grams
from mcp_servers.groceries.store import APPROVED, WAITING, StoredPlan

STATUS_WORDS = {WAITING: "waiting for your approval", APPROVED: "approved", "superseded": "replaced by a newer plan"}


def _n(value: float) -> str:
    return f"{value:,.0f}"


def plan_document(stored: StoredPlan) -> dict[str, Any]:
    body = stored.body
    goals = body["goals"]
    span = f"{day_label(body['start_date'])} to {day_label(body['end_date'])}"
    status = STATUS_WORDS.get(stored.status, stored.status)
    if stored.status == APPROVED and stored.approved_at is not None:
        status = f"approved {stored.approved_at:%d %b %Y}"
    budget = f", budget {goals['budget_usd']:.2f} USD" if goals.get("budget_usd") else ""
    days = [
        [
            day_label(d["date"]),
            f"{_n(d['protein_g'])} g",
            f"{_n(d['kcal'])} kcal",
            f"{_n(d['fat_g'])} g",
            f"{_n(d['carbs_g'])} g",
            f"{d['cost_usd']:.2f} USD",
            "yes" if d["protein_g"] >= goals["protein_min_g"] and d["kcal"] <= goals["kcal_max"] else "NO",
        ]
        for d in body["days"]
    ]
    notes = [f"Nutrient values: {body['source']}."]
    if body.get("active_kcal") is not None:
        notes.append(f"Recent active energy: {body['active_kcal']} kcal a day (energy floor {goals['kcal_min']:.0f}).")
    if body.get("not_found"):
        notes.append(f"Not found at FoodData Central, offline values used: {', '.join(body['not_found'])}.")
    sections: list[dict[str, Any]] = [
        {
            "heading": "Shopping list",
            "columns": ["Food", "Amount", "USDA food"],
            "rows": [[i["name"], grams(i["grams"]), i["description"]] for i in body["shopping"]],
            "note": f"Estimated cost {body['cost_usd']:.2f} USD{budget}.",
        },
        {
            "heading": "Each day against your goals",
            "columns": ["Day", "Protein", "Energy", "Fat", "Carbohydrate", "Cost", "Goals met"],
            "rows": days,
            "note": (
                f"Goals: protein at least {goals['protein_min_g']:.0f} g, energy at most "
                f"{goals['kcal_max']:.0f} kcal, vegetables at least {goals['vegetables_min_g']:.0f} g a day. "
                + " ".join(notes)
            ),
        },
    ]
    sections.extend(
        {
            "heading": day_label(d["date"]),
            "columns": ["Food", "Amount"],
            "rows": [[i["name"], grams(i["grams"])] for i in d["items"]],
            "note": "",
        }
        for d in body["days"]
    )
    return {"title": "Grocery list", "subtitle": f"{span} · {status}", "sections": sections}
