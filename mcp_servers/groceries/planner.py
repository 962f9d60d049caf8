"""A grocery plan for the next days that meets the owner's goals, as a mixed-integer linear program.

Variables: how many portions of each food are eaten in a day (integers, capped per food and day).
Constraints: protein at least the goal, energy at most the limit (and at least a floor, so the plan
is a real diet), vegetables at least a minimum, and cost within the budget's share for one day.
Objective: the lowest cost, with the owner's liked foods counted at a discount so they are preferred.
Every day has the same constraints, so the day's optimum is repeated for each day of the plan (a
menu to prepare in batches); solving the days jointly gives the same cost and is much slower, since
the solver must rule out every permutation of days.
Solved with SciPy's ``milp`` (HiGHS). When no plan exists, :class:`Infeasible` says which goal the
foods left after the exclusions cannot meet, instead of returning a plan that misses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from mcp_servers.groceries.foods import Food

LIKED_DISCOUNT = 0.6  # a liked food counts at 60% of its price in the objective


@dataclass(frozen=True)
class Goals:
    protein_min_g: float = 175.0
    kcal_max: float = 1900.0
    kcal_min: float = 1500.0
    vegetables_min_g: float = 200.0
    days: int = 4
    budget_usd: float | None = None
    exclude: frozenset[str] = frozenset()  # food keys or tags (``fish``, ``dairy``, ``meat``...)
    like: frozenset[str] = frozenset()  # food keys or tags


@dataclass(frozen=True)
class Portion:
    key: str
    description: str
    grams: int


@dataclass(frozen=True)
class DayPlan:
    day: int
    items: tuple[Portion, ...]
    protein_g: float
    kcal: float
    fat_g: float
    carbs_g: float
    cost_usd: float


@dataclass(frozen=True)
class Plan:
    goals: Goals
    days: tuple[DayPlan, ...]
    shopping: tuple[Portion, ...]  # grams of each food over the whole plan
    cost_usd: float


@dataclass
class Infeasible(Exception):
    """No plan meets the goals; ``reasons`` say why in plain words."""

    reasons: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(self.reasons)


def _matches(food: Food, names: Iterable[str]) -> bool:
    names = set(names)
    return food.key in names or bool(food.tags & names)


def _day_matrix(foods: Sequence[Food]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    protein = np.array([f.per_portion(f.protein_g) for f in foods])
    kcal = np.array([f.per_portion(f.kcal) for f in foods])
    veg = np.array([float(f.portion_g) if "vegetable" in f.tags else 0.0 for f in foods])
    cost = np.array([f.price_per_kg * f.portion_g / 1000 for f in foods])
    return protein, kcal, veg, cost


def plan(foods: Sequence[Food], goals: Goals) -> Plan:
    if goals.days < 1:
        raise ValueError("a plan covers at least one day")
    if goals.kcal_min > goals.kcal_max:
        raise Infeasible([f"the energy floor {goals.kcal_min:.0f} kcal is above the limit {goals.kcal_max:.0f} kcal"])
    usable = [f for f in foods if not _matches(f, goals.exclude)]
    if not usable:
        raise Infeasible(["every food is excluded"])
    protein, kcal, veg, cost = _day_matrix(usable)
    caps = np.array([f.max_g_per_day // f.portion_g for f in usable], dtype=float)
    n = len(usable)
    a = np.vstack([protein, kcal, veg])
    constraints = [
        LinearConstraint(
            a, [goals.protein_min_g, goals.kcal_min, goals.vegetables_min_g], [np.inf, goals.kcal_max, np.inf]
        )
    ]
    if goals.budget_usd is not None:
        constraints.append(LinearConstraint(cost[None, :], -np.inf, goals.budget_usd / goals.days))
    weight = np.array([LIKED_DISCOUNT if _matches(f, goals.like) else 1.0 for f in usable])
    result = milp(
        cost * weight,
        integrality=np.ones(n, dtype=np.int64),
        bounds=Bounds(np.zeros(n), caps),
        constraints=constraints,
        options={"time_limit": 20},
    )
    if result.status != 0 or result.x is None:
        raise Infeasible(_why(usable, goals, protein, kcal, veg, cost, caps))
    day = np.rint(result.x).astype(int)
    return _plan(usable, goals, np.tile(day, (goals.days, 1)))


def _why(
    foods: Sequence[Food],
    goals: Goals,
    protein: np.ndarray,
    kcal: np.ndarray,
    veg: np.ndarray,
    cost: np.ndarray,
    caps: np.ndarray,
) -> list[str]:
    """Which goal cannot be met, found with one small LP per question."""
    reasons: list[str] = []
    bounds = list(zip(np.zeros(len(foods)), caps, strict=True))
    best = linprog(-protein, A_ub=[kcal], b_ub=[goals.kcal_max], bounds=bounds, method="highs")
    most = -float(best.fun) if best.status == 0 and best.fun is not None else 0.0
    if most < goals.protein_min_g:
        reasons.append(
            f"the foods left after the exclusions give at most {most:.0f} g of protein a day within "
            f"{goals.kcal_max:.0f} kcal (the goal is {goals.protein_min_g:.0f} g)"
        )
    if float(veg @ caps) < goals.vegetables_min_g:
        reasons.append(
            f"the vegetables left give at most {float(veg @ caps):.0f} g a day "
            f"(the goal is {goals.vegetables_min_g:.0f} g)"
        )
    if reasons:
        return reasons
    a = np.vstack([-protein, kcal, -kcal, -veg])
    b = [-goals.protein_min_g, goals.kcal_max, -goals.kcal_min, -goals.vegetables_min_g]
    cheapest = milp(
        cost,
        integrality=np.ones(len(foods), dtype=np.int64),
        bounds=Bounds(np.zeros(len(foods)), caps),
        constraints=[LinearConstraint(a, -np.inf, b)],
    )
    if cheapest.status != 0 or cheapest.x is None:
        return ["protein, energy and vegetable goals cannot all be met together with these foods and portions"]
    per_day = float(cost @ np.rint(cheapest.x))
    if goals.budget_usd is not None and per_day * goals.days > goals.budget_usd:
        return [
            f"the cheapest plan that meets the goals costs {per_day * goals.days:.2f} USD for {goals.days} days "
            f"(the budget is {goals.budget_usd:.2f} USD)"
        ]
    return ["the solver found no plan within its time limit"]


def _plan(foods: Sequence[Food], goals: Goals, x: np.ndarray) -> Plan:
    days: list[DayPlan] = []
    totals = np.zeros(len(foods), dtype=int)
    for i, row in enumerate(x):
        chosen = [(f, int(k)) for f, k in zip(foods, row, strict=True) if k > 0]
        totals += row
        days.append(
            DayPlan(
                day=i + 1,
                items=tuple(Portion(f.key, f.description, k * f.portion_g) for f, k in chosen),
                protein_g=round(sum(f.per_portion(f.protein_g) * k for f, k in chosen), 1),
                kcal=round(sum(f.per_portion(f.kcal) * k for f, k in chosen), 1),
                fat_g=round(sum(f.per_portion(f.fat_g) * k for f, k in chosen), 1),
                carbs_g=round(sum(f.per_portion(f.carbs_g) * k for f, k in chosen), 1),
                cost_usd=round(sum(f.price_per_kg * f.portion_g * k / 1000 for f, k in chosen), 2),
            )
        )
    shopping = tuple(
        Portion(f.key, f.description, int(k) * f.portion_g) for f, k in zip(foods, totals, strict=True) if k > 0
    )
    return Plan(goals, tuple(days), shopping, round(sum(d.cost_usd for d in days), 2))
