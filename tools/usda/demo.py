"""The demo FoodData Central: ``/fdc/v1/foods/search`` answered from the offline food table, in
exactly FDC's shape (``totalHits``, ``currentPage``, ``totalPages``, ``foodSearchCriteria``,
``foods`` with ``fdcId``, ``description``, ``dataType``, ``foodNutrients``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import httpx

from tools.usda.models import CARBS, ENERGY_KCAL, FAT, PROTEIN

DEMO_KEY: Final = "DEMO_KEY"
FIRST_ID: Final = 170000


@dataclass(frozen=True)
class DemoFood:
    description: str
    kcal: float
    protein_g: float
    fat_g: float
    carbs_g: float


def _nutrients(food: DemoFood) -> list[dict[str, Any]]:
    rows = (
        (1003, "Protein", PROTEIN, "G", food.protein_g, 600),
        (1004, "Total lipid (fat)", FAT, "G", food.fat_g, 800),
        (1005, "Carbohydrate, by difference", CARBS, "G", food.carbs_g, 1110),
        (1008, "Energy", ENERGY_KCAL, "KCAL", food.kcal, 300),
    )
    return [
        {
            "nutrientId": nid,
            "nutrientName": name,
            "nutrientNumber": number,
            "unitName": unit,
            "value": value,
            "rank": rank,
            "indentLevel": 1,
            "foodNutrientId": 1_000_000 + nid,
        }
        for nid, name, number, unit, value, rank in rows
    ]


def search_body(foods: Sequence[DemoFood], query: str, page_size: int) -> dict[str, Any]:
    words = [w for w in query.lower().replace(",", " ").split() if w]
    hits = [(i, f) for i, f in enumerate(foods) if all(w in f.description.lower() for w in words)]
    shown = hits[:page_size]
    return {
        "totalHits": len(hits),
        "currentPage": 1,
        "totalPages": max(1, -(-len(hits) // page_size)),
        "pageList": [1],
        "foodSearchCriteria": {
            "query": query,
            "generalSearchInput": query,
            "pageNumber": 1,
            "numberOfResultsPerPage": page_size,
            "pageSize": page_size,
            "requireAllWords": False,
        },
        "foods": [
            {
                "fdcId": FIRST_ID + i,
                "description": f.description,
                "dataType": "SR Legacy",
                "publishedDate": "2019-04-01",
                "score": round(900.0 - i, 1),
                "foodNutrients": _nutrients(f),
            }
            for i, f in shown
        ],
    }


def demo_credentials() -> dict[str, str]:
    return {"usda-api-key": DEMO_KEY}


def demo_transport(foods: Sequence[DemoFood]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/fdc/v1/foods/search" or request.method != "GET":
            return httpx.Response(404, json={"message": "not found"})
        if request.url.params.get("api_key") != DEMO_KEY:
            return httpx.Response(
                403, json={"error": {"code": "API_KEY_INVALID", "message": "An invalid api_key was supplied."}}
            )
        size = int(request.url.params.get("pageSize", "50"))
        body = search_body(foods, request.url.params.get("query", ""), size)
        return httpx.Response(200, content=json.dumps(body), headers={"Content-Type": "application/json"})

    return httpx.MockTransport(handler)
