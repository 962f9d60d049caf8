"""The content engine's daily work: the drafts of the day (``generate_content``), the engagement of
published posts (``content_engagement``) and, in the demo profile, clearly marked demo drafts.

Every input is read through the gateway (session ``job:generate_content``), so it arrives with its
label; the labels travel with the draft, and a private one makes the gateway refuse it before any
model sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import structlog

from agent.content.engine import ContentEngine
from agent.content.generate import Item, system_for, write_post
from agent.content.ports import DraftSource, EngagementPoint
from agent.content.store import Draft
from agent.gateway.content import refusal
from agent.gateway.labels import Integrity, Label
from agent.jobs.ports import JobError
from agent.limits import Budget
from agent.mail_analysis import step_budget
from agent.model import ModelPort
from integrations.manifest import ContentChannel
from integrations.views import resolve_args

log = structlog.get_logger("aegis.content")

GENERATE_SESSION = "job:generate_content"
ENGAGEMENT_SESSION = "job:content_engagement"
ENGAGEMENT_DAYS = 30
EXAMPLES = 3
DEMO_MARK = "[Demo draft]"


@dataclass
class Inputs:
    items: list[Item] = field(default_factory=list)
    sources: dict[int, DraftSource] = field(default_factory=dict)
    labels: list[Label] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _text(value: Any, limit: int) -> str:
    return " ".join(str(value).split())[:limit] if isinstance(value, str) else ""


async def read_inputs(engine: ContentEngine, day: date, session: str) -> Inputs:
    """Every declared input through the gateway, with its label."""
    out = Inputs()
    for _, spec in engine.inputs:
        try:
            found, label = await engine.calls.read(spec.tool, resolve_args(spec.args, day), session=session)
        except JobError as exc:
            out.failed.append(spec.tool)
            log.info("content.input_unreadable", tool=spec.tool, error=str(exc)[:120])
            continue
        if label is not None:
            out.labels.append(label)
        untrusted = label is None or label.integrity < Integrity.OWNER
        raw = found.get(spec.list) if isinstance(found, Mapping) else None
        for element in raw if isinstance(raw, list) else []:
            if not isinstance(element, Mapping):
                continue
            title = _text(element.get(spec.title), 300)
            url = element.get(spec.url)
            link = _link(url)
            n = len(out.items) + 1
            out.items.append(Item(n, spec.kind, title, _text(element.get(spec.text), 1200), link, spec.tool))
            out.sources[n] = DraftSource(spec.kind, title or spec.tool, link, untrusted)
    return out


def _themes(engine_themes: tuple[str, ...]) -> tuple[DraftSource, ...]:
    return tuple(DraftSource("theme", t) for t in engine_themes[:5])


async def generate(
    engine: ContentEngine, day: date, model: ModelPort, budget: Budget, *, session: str = GENERATE_SESSION
) -> dict[str, object]:
    """One draft per network for ``day`` (a network with a draft for the day already is left alone)."""
    settings = await engine.store.settings()
    todo = [(n, c) for n, c in engine.channels if n not in settings.paused and not await engine.store.has_slot(n, day)]
    inputs = await read_inputs(engine, day, session) if todo else Inputs()
    steps = step_budget(budget, len(todo))  # one model step per network, within the run's caps
    try:
        return await _draft_all(engine, day, model, steps, todo, inputs, session=session)
    finally:
        budget.usage, budget.steps = steps.usage, steps.steps


async def _draft_all(
    engine: ContentEngine,
    day: date,
    model: ModelPort,
    budget: Budget,
    todo: list[tuple[str, ContentChannel]],
    inputs: Inputs,
    *,
    session: str,
) -> dict[str, object]:
    settings = await engine.store.settings()
    counts = {"drafted": 0, "refused": 0, "held": 0}
    notes: dict[str, object] = {}
    if inputs.failed:
        notes["inputs_failed"] = ",".join(inputs.failed)
    for name, channel in todo:
        base = Draft(engine.new_draft(name, day, ""), tuple(inputs.labels))
        if refusal(inputs.labels) is not None:  # refused before any model sees the inputs
            await engine.add(base, session=session)
            counts["refused"] += 1
            continue
        posts, posts_label = await engine.own_posts_labelled(name, session=session)
        if posts_label is not None and posts[:EXAMPLES]:
            base = Draft(base.view, (*base.labels, posts_label))
            if refusal(base.labels) is not None:  # the examples must be public too
                await engine.add(base, session=session)
                counts["refused"] += 1
                continue
        examples = [str(p["text"])[:1000] for p in posts[:EXAMPLES]]
        system = system_for(channel.network, channel.guidance, settings)
        written = await write_post(model, budget, system, inputs.items, examples)
        if written.kind != "written":
            notes[f"{name}_not_drafted"] = written.kind
            if written.kind == "no_budget":
                break
            continue
        shown = posts[:EXAMPLES]
        past = tuple(DraftSource("past_post", str(p["text"])[:80], _link(p.get(channel.url_field))) for p in shown)
        used = tuple(inputs.sources[n] for n in written.used)
        draft = base.with_view(text=written.text, sources=(*used, *_themes(settings.themes), *past))
        stored = await engine.add(draft, session=session)
        counts["drafted"] += 1
        counts["held"] += stored.view.status == "held"
    return {"day": day.isoformat(), **counts, **notes}


def _link(value: Any) -> str | None:
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None


DEMO_THEMES = ("working well with AI assistants", "security for small teams")
DEMO_VOICE = "Plain words, short sentences, one idea per post, no hashtags."


async def seed_demo(engine: ContentEngine, day: date) -> int:
    """The demo profile's drafts for ``day``, marked as demo drafts, from the demo's news, through
    the same store, refusal and checks as the model's. A network with a draft for the day is left alone."""
    settings = await engine.store.settings()
    todo = [n for n, _ in engine.channels if n not in settings.paused and not await engine.store.has_slot(n, day)]
    if not todo:
        return 0
    if not settings.themes and not settings.voice:  # the demo owner's settings, editable like any owner's
        settings = await engine.store.save_settings(replace(settings, themes=DEMO_THEMES, voice=DEMO_VOICE))
    inputs = await read_inputs(engine, day, GENERATE_SESSION)
    theme = settings.themes[0] if settings.themes else DEMO_THEMES[0]
    for i, name in enumerate(todo):
        item = inputs.items[i % len(inputs.items)] if inputs.items else None
        if item is not None:
            text = (
                f"{DEMO_MARK} Worth a read today: {item.title[:120]}. "
                f"What it means for {theme}: small, careful steps beat big promises."
            )
            sources: tuple[DraftSource, ...] = (inputs.sources[item.n], *_themes(settings.themes))
        else:
            text = f"{DEMO_MARK} A thought on {theme}: write down what you expect before you try a tool, then compare."
            sources = _themes(settings.themes)
        view = engine.new_draft(name, day, text, sources=sources)
        await engine.add(Draft(view, tuple(inputs.labels), origin="demo"), session=GENERATE_SESSION)
    return len(todo)


async def collect_engagement(engine: ContentEngine, *, session: str = ENGAGEMENT_SESSION) -> dict[str, object]:
    """Each network's counts for the posts published in the last 30 days, appended to each post."""
    since = engine.clock() - timedelta(days=ENGAGEMENT_DAYS)
    published = [d for d in await engine.store.published_since(since) if d.view.post_id]
    summary: dict[str, object] = {}
    posts = points = 0
    for name, channel in engine.channels:
        mine = {d.view.post_id: d for d in published if d.view.integration == name}
        if not channel.metrics or not mine:
            continue
        posts += len(mine)
        try:
            found, _ = await engine.calls.read(channel.metrics, {"ids": sorted(mine)}, session=session)
        except JobError as exc:
            summary[f"{name}_failed"] = str(exc)[:120]
            continue
        rows = found.get("posts") if isinstance(found, Mapping) else None
        now = engine.clock()
        for row in rows if isinstance(rows, list) else []:
            d = mine.get(str(row.get("id"))) if isinstance(row, Mapping) else None
            metrics = row.get("metrics") if isinstance(row, Mapping) else None
            if d is None or not isinstance(metrics, Mapping):
                continue
            counts = {str(k): int(v) for k, v in metrics.items() if isinstance(v, int) and not isinstance(v, bool)}
            point = EngagementPoint(now, counts)
            await engine.store.save(d.with_view(engagement=(*d.view.engagement, point)), expect="published")
            points += 1
    return {"posts": posts, "points": points, **summary}
