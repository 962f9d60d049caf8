"""The content engine's jobs: ``generate_content`` (the day's drafts, with the model) and
``content_engagement`` (the published posts' counts). Each first expires what is past its slot."""

from __future__ import annotations

from agent.content.daily import collect_engagement, generate, seed_demo
from agent.content.engine import ContentEngine
from agent.jobs.engine import Handler, JobContext
from agent.jobs.ports import JobSkipped
from agent.model import ModelPort
from agent.model_switch import is_ready

NO_CHANNEL = "no installed integration is a network the content engine drafts for"


def generate_content_handler(engine: ContentEngine | None, model: ModelPort | None) -> Handler:
    async def run(ctx: JobContext) -> dict[str, object]:
        if engine is None or not engine.channels:
            raise JobSkipped(NO_CHANNEL)
        expired = await engine.tidy()
        if model is None or not is_ready(model):
            raise JobSkipped("no model configured: the content engine drafts nothing")
        if ctx.budget is None:
            raise JobSkipped(f"model not used: {ctx.model_note or 'no budget'}")
        day = ctx.scheduled_for.astimezone(ctx.timezone).date()
        done = await generate(engine, day, model, ctx.budget)
        return {**done, "expired": expired, "tokens": ctx.budget.usage.total}

    return run


def content_engagement_handler(engine: ContentEngine | None) -> Handler:
    async def run(ctx: JobContext) -> dict[str, object]:
        if engine is None or not engine.channels:
            raise JobSkipped(NO_CHANNEL)
        expired = await engine.tidy()
        if engine.demo:  # the demo has drafts on any day, whether or not anyone opened the page
            await seed_demo(engine, ctx.scheduled_for.astimezone(engine.timezone).date())
        if not any(c.metrics for _, c in engine.channels):
            raise JobSkipped("no installed network reports engagement")
        return {**await collect_engagement(engine), "expired": expired}

    return run
