"""The offline food table: nutrients per 100 g from USDA FoodData Central, shipped as data.

Each row also carries an editable price estimate (not USDA data), the planning unit (``portion_g``)
and a per-day cap, so a plan stays something a person would eat.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Final

TABLE: Final = Path(__file__).with_name("data") / "foods.csv"


@dataclass(frozen=True)
class Food:
    key: str
    description: str  # the FoodData Central description
    kcal: float  # per 100 g
    protein_g: float
    fat_g: float
    carbs_g: float
    tags: frozenset[str]
    portion_g: int
    max_g_per_day: int
    price_per_kg: float

    def per_portion(self, per_100g: float) -> float:
        return per_100g * self.portion_g / 100


def load_foods(path: Path = TABLE) -> list[Food]:
    with path.open(encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return [
            Food(
                key=r["key"],
                description=r["fdc_description"],
                kcal=float(r["kcal"]),
                protein_g=float(r["protein_g"]),
                fat_g=float(r["fat_g"]),
                carbs_g=float(r["carbs_g"]),
                tags=frozenset(t for t in r["tags"].split("|") if t),
                portion_g=int(r["portion_g"]),
                max_g_per_day=int(r["max_g_per_day"]),
                price_per_kg=float(r["price_per_kg"]),
            )
            for r in rows
        ]
