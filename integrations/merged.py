"""Views the core merges across integrations: deadlines from every coursework source, and what needs
the owner's attention.

A manifest declares ``deadlines: <tool>`` (a READ tool taking ``start``, ``end`` and
``include_overdue`` and answering ``{"assignments": [...]}`` in the common shape: ``name``, ``course``,
``due_at``, ``due``, ``status``, ``source``...) and ``connect.status_tool`` (answering
``{"attention": [{reason, detail, since, snapshot_id}]}``). The core never names a source: it asks
each declaring integration, concatenates the lists, orders them by due time and renders them with
the ordinary :mod:`integrations.views` machinery. A source that fails is shown as a line saying so,
never dropped as if it had nothing due. The health views (:mod:`integrations.health_views`) are
merged the same way, except that the sources' days are combined by the health rule, not listed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from integrations import health_views
from integrations.manifest import Manifest, View
from integrations.views import ItemFormat, Render

DEADLINE_ITEM = ItemFormat(title="{name}", detail="{course} · {status} · {source}", when="{due}")


def _deadline_view(view_id: str, title: str, args: dict[str, Any], order: int, **render: Any) -> View:
    return View(
        id=view_id,
        title=title,
        tool="deadlines",
        args=args,
        render=Render(list="assignments", item=DEADLINE_ITEM, **render),
        order=order,
    )


PANEL = _deadline_view(
    "deadlines",
    "Deadlines (next 14 days)",
    {"start": "$today", "end": "$days_ahead:14"},
    15,
    count_label="Due in 14 days",
    empty="Nothing due in the next 14 days.",
    limit=30,
)
BRIEFING = _deadline_view(
    "deadlines",
    "Due in 72 hours, and overdue",
    {"start": "$today", "end": "$days_ahead:3", "include_overdue": True},
    15,
    empty="Nothing due in the next 72 hours, and nothing overdue.",
    limit=30,
)
DIGEST = _deadline_view(
    "deadlines",
    "Coursework this week: what was due and what was submitted",
    {"start": "$week_start", "end": "$today"},
    15,
    count_label="Was due this week",
    empty="Nothing was due this week.",
    limit=40,
)
ATTENTION = View(
    id="attention",
    title="Needs your attention",
    tool="status",
    args={},
    render=Render(
        list="attention",
        item=ItemFormat(title="{integration}", detail="{reason}: {detail}", when="since {since_day}"),
        empty="Every source synced without needing you.",
    ),
    order=1,
)


@dataclass(frozen=True)
class Merged:
    """A view over several integrations' tools: ``sources`` are ``(integration, tool)`` pairs."""

    view: View
    sources: tuple[tuple[str, str], ...]
    sort_key: str | None = None  # order the merged list by this key (missing last)
    health: bool = False  # the sources' health summaries, merged day by day (integrations.health_views)

    def tool_args(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """What each source's tool is asked, from the view's resolved arguments."""
        return health_views.summary_args(args) if self.health else dict(args)

    def combine(self, parts: Sequence[tuple[Manifest, Any]], args: Mapping[str, Any]) -> dict[str, Any]:
        """One result from the sources' answers (``(manifest, result)``), for the view to render."""
        if self.health:
            return health_views.combine(parts, args)
        return merge(self.view.render.list, [(m.title, r) for m, r in parts], sort_key=self.sort_key)


def merge(
    list_key: str, parts: Sequence[tuple[str, Any]], *, sort_key: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """One result from several: each element gains ``integration`` (its source's title) and, where
    it has a ``since`` time, ``since_day``; ordered by ``sort_key`` when given."""
    out: list[dict[str, Any]] = []
    for title, result in parts:
        raw = result.get(list_key) if isinstance(result, Mapping) else None
        for element in raw if isinstance(raw, list) else []:
            if isinstance(element, Mapping):
                item = {**element, "integration": title}
                since = item.get("since")
                if isinstance(since, str):
                    item["since_day"] = since[:16].replace("T", " ")
                out.append(item)
    if sort_key is not None:
        out.sort(key=lambda e: (not isinstance(e.get(sort_key), str), str(e.get(sort_key) or "")))
    return {list_key: out}


def failure_line(title: str, error: str) -> str:
    """How a source that failed shows in a merged view: its name and why, never silence."""
    return f"{title}: unavailable ({' '.join(error.split())[:200]})"
