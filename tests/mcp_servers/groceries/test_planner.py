from __future__ import annotations

import random

import pytest

from mcp_servers.groceries.foods import Food, load_foods
from mcp_servers.groceries.planner import Goals, Infeasible, Plan, plan

FOODS = load_foods()
BY_KEY = {f.key: f for f in FOODS}


def _assert_meets(p: Plan, goals: Goals) -> None:
    assert len(p.days) == goals.days
    for day in p.days:
        assert day.protein_g >= goals.protein_min_g - 0.05, day
        assert goals.kcal_min - 0.05 <= day.kcal <= goals.kcal_max + 0.05, day
        veg = sum(i.grams for i in day.items if "vegetable" in BY_KEY[i.key].tags)
        assert veg >= goals.vegetables_min_g
        for item in day.items:  # recomputed from the table, not trusted from the plan
            assert item.grams <= BY_KEY[item.key].max_g_per_day
            assert not ({item.key} | BY_KEY[item.key].tags) & goals.exclude
        recomputed = sum(BY_KEY[i.key].protein_g * i.grams / 100 for i in day.items)
        assert recomputed == pytest.approx(day.protein_g, abs=0.1)
    if goals.budget_usd is not None:
        assert p.cost_usd <= goals.budget_usd + 0.01
    assert sum(i.grams for i in p.shopping) == sum(i.grams for d in p.days for i in d.items)


def test_the_table_holds_usda_values_per_100_g() -> None:
    chicken = BY_KEY["chicken_breast"]
    assert (chicken.kcal, chicken.protein_g) == (165, 31.02)
    for food in FOODS:  # Atwater check: energy roughly matches 4/4/9 kcal per gram
        atwater = 4 * food.protein_g + 4 * food.carbs_g + 9 * food.fat_g
        assert food.kcal == pytest.approx(atwater, rel=0.15, abs=12), food.key


@pytest.mark.parametrize(
    "goals",
    [
        Goals(),
        Goals(exclude=frozenset({"meat"})),
        Goals(exclude=frozenset({"meat", "fish"})),
        Goals(exclude=frozenset({"dairy"})),
        Goals(exclude=frozenset({"soy", "legume"})),
        Goals(exclude=frozenset({"egg", "nut"}), like=frozenset({"fish"})),
        Goals(like=frozenset({"salmon", "greek_yogurt"})),
        Goals(budget_usd=30.0),
        Goals(days=7, kcal_min=1700),
        Goals(protein_min_g=190, kcal_max=1850),
    ],
    ids=lambda g: f"ex={sorted(g.exclude)} like={sorted(g.like)} budget={g.budget_usd} days={g.days}",
)
def test_every_plan_meets_the_goals(goals: Goals) -> None:
    _assert_meets(plan(FOODS, goals), goals)


def test_liked_foods_are_preferred() -> None:
    plain = plan(FOODS, Goals())
    liked = plan(FOODS, Goals(like=frozenset({"tuna"})))
    assert not any(i.key == "tuna" for i in plain.shopping)
    assert any(i.key == "tuna" for i in liked.shopping)


def test_infeasible_exclusions_say_which_goal_and_by_how_much() -> None:
    with pytest.raises(Infeasible) as caught:
        plan(FOODS, Goals(exclude=frozenset({"meat", "fish", "egg", "dairy"})))
    (reason,) = caught.value.reasons
    assert "protein" in reason and "175 g" in reason and "1900 kcal" in reason


def test_a_budget_too_small_says_what_the_cheapest_plan_costs() -> None:
    cheapest = plan(FOODS, Goals()).cost_usd
    with pytest.raises(Infeasible) as caught:
        plan(FOODS, Goals(budget_usd=cheapest - 1))
    assert f"{cheapest:.2f} USD" in str(caught.value) and "budget" in str(caught.value)


def test_no_vegetables_left_is_named() -> None:
    with pytest.raises(Infeasible, match="vegetables"):
        plan(FOODS, Goals(exclude=frozenset({"vegetable"})))


def test_contradictory_energy_goals_are_named() -> None:
    with pytest.raises(Infeasible, match="energy floor"):
        plan(FOODS, Goals(kcal_min=2000, kcal_max=1900))


def test_a_tiny_table_that_cannot_reach_protein_is_refused() -> None:
    rice = Food("rice", "Rice", 130, 2.69, 0.28, 28.17, frozenset({"grain", "vegetable"}), 50, 2000, 2.5)
    with pytest.raises(Infeasible, match="protein"):
        plan([rice], Goals())


TAGS = sorted({t for f in FOODS for t in f.tags} - {"vegetable"})
KEYS = sorted(BY_KEY)


@pytest.mark.parametrize("seed", range(12))
def test_random_preferences_either_meet_every_goal_or_say_which_cannot(seed: int) -> None:
    """Property-style: for random goals, exclusions, likes and budgets, a returned plan always meets
    every goal (recomputed from the table), and a refusal always names the goal it cannot meet."""
    rng = random.Random(seed)
    exclude = frozenset(rng.sample(TAGS, rng.randint(0, 3)) + rng.sample(KEYS, rng.randint(0, 3)))
    like = frozenset(k for k in rng.sample(KEYS, rng.randint(0, 3)) if k not in exclude)
    goals = Goals(
        protein_min_g=rng.choice((140, 160, 175, 190)),
        kcal_max=rng.choice((1750, 1900, 2100)),
        kcal_min=rng.choice((1400, 1500)),
        days=rng.randint(1, 5),
        budget_usd=rng.choice((None, None, 20.0, 40.0)),
        exclude=exclude,
        like=like,
    )
    try:
        found = plan(FOODS, goals)
    except Infeasible as exc:
        assert exc.reasons and any(w in str(exc) for w in ("protein", "vegetables", "budget", "energy", "goals"))
        return
    _assert_meets(found, goals)
