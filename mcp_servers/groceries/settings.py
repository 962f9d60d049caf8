"""The owner's grocery settings: the goals, preferences, exclusions and budget the job plans with.

Defaults are the owner's (``DAILY_PROTEIN_TARGET_G=175``, ``DAILY_CALORIE_LIMIT=1900``); the owner
edits them in the console. Preferences and exclusions are food keys or tags of the food table.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from mcp_servers.groceries.planner import Goals

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    protein_min_g: float = Field(175.0, ge=20, le=400)
    kcal_max: float = Field(1900.0, ge=800, le=5000)
    kcal_min: float = Field(1500.0, ge=600, le=5000)
    vegetables_min_g: float = Field(200.0, ge=0, le=1500)
    days: int = Field(4, ge=1, le=7)
    budget_usd: float | None = Field(None, gt=0, le=2000)
    like: tuple[Name, ...] = Field((), max_length=30)
    exclude: tuple[Name, ...] = Field((), max_length=30)
    adapt_to_activity: bool = True  # raise the energy floor on active days (never above the limit)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.kcal_min > self.kcal_max:
            raise ValueError(f"the energy floor ({self.kcal_min:.0f} kcal) is above the limit ({self.kcal_max:.0f})")
        if set(self.like) & set(self.exclude):
            raise ValueError(f"{sorted(set(self.like) & set(self.exclude))} is both liked and excluded")
        return self


BASE_ACTIVE_KCAL = 400.0  # a day this active needs no more food than the floor
ACTIVE_SHARE = 0.5  # half of the extra active energy raises the floor
HEADROOM = 100.0  # the floor stays this far under the limit, so the solver keeps room to choose


def goals_for(settings: Settings, active_kcal: float | None) -> Goals:
    """The planner's goals: the owner's settings; with a recent mean of active energy, a higher
    energy floor on an active week. Protein at least the target and energy at most the limit are
    never changed."""
    floor = settings.kcal_min
    if settings.adapt_to_activity and active_kcal is not None and active_kcal > BASE_ACTIVE_KCAL:
        raised = settings.kcal_min + ACTIVE_SHARE * (active_kcal - BASE_ACTIVE_KCAL)
        floor = max(settings.kcal_min, min(raised, settings.kcal_max - HEADROOM))
    return Goals(
        protein_min_g=settings.protein_min_g,
        kcal_max=settings.kcal_max,
        kcal_min=round(floor),
        vegetables_min_g=settings.vegetables_min_g,
        days=settings.days,
        budget_usd=settings.budget_usd,
        exclude=frozenset(settings.exclude),
        like=frozenset(settings.like),
    )
