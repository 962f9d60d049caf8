"""FoodData Central's search results, reduced to what the planner uses.

Nutrients are matched by their FDC ``nutrientNumber`` (the SR Legacy numbering, stable across data
types): ``208`` energy in kcal, ``203`` protein, ``204`` total fat, ``205`` carbohydrate by
difference, all per 100 g for SR Legacy and Foundation foods.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict

ENERGY_KCAL: Final = "208"
PROTEIN: Final = "203"
FAT: Final = "204"
CARBS: Final = "205"


class FdcFood(BaseModel):
    model_config = ConfigDict(frozen=True)

    fdc_id: int
    description: str
    data_type: str
    kcal: float | None
    protein_g: float | None
    fat_g: float | None
    carbs_g: float | None

    @property
    def complete(self) -> bool:
        return None not in (self.kcal, self.protein_g, self.fat_g, self.carbs_g)


def _value(nutrients: list[dict[str, Any]], number: str, unit: str) -> float | None:
    for n in nutrients:
        if str(n.get("nutrientNumber")) == number and str(n.get("unitName", "")).upper() == unit:
            value = n.get("value")
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
    return None


def parse_food(raw: dict[str, Any]) -> FdcFood:
    """One entry of ``foods`` in a ``/foods/search`` answer (``fdcId``, ``description``, ``dataType``,
    ``foodNutrients`` with ``nutrientNumber``, ``unitName`` and ``value``)."""
    nutrients = [n for n in raw.get("foodNutrients") or [] if isinstance(n, dict)]
    return FdcFood(
        fdc_id=int(raw["fdcId"]),
        description=str(raw.get("description") or "")[:200],
        data_type=str(raw.get("dataType") or ""),
        kcal=_value(nutrients, ENERGY_KCAL, "KCAL"),
        protein_g=_value(nutrients, PROTEIN, "G"),
        fat_g=_value(nutrients, FAT, "G"),
        carbs_g=_value(nutrients, CARBS, "G"),
    )
