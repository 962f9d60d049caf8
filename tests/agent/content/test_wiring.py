"""How the engine is found and wired: the manifest's ``content`` and ``content_inputs`` keys, the
composition root's engine (a follower of the approval desk) and the two core jobs."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from aegis.agent_root import build_content
from agent.content.engine import ContentEngine
from agent.jobs.handlers import default_handlers
from agent.jobs.schedule import CORE_JOBS, load_schedule
from integrations import Catalog, Manifest
from storage.db import Database
from tests.agent.content._rig import build, cipher


def _manifest(input_class: str = "READ") -> Manifest:
    def tool(cls: str, **entry: Any) -> dict[str, Any]:
        return {"scope": "social.read", "entry": {"class": cls, "description": "T.", **entry}}

    post = tool("EGRESS", audience="PUBLIC", always_approve=True, step_up=True, data=["text"])
    return Manifest.model_validate(
        {
            "name": "chirp",
            "title": "Chirp (test)",
            "summary": "A made-up network.",
            "category": "social",
            "identity": {"scopes": ("datakeys.read",), "data_domain": "social"},
            "tools": {
                "chirp.post": post,
                "chirp.measure": tool("READ"),
                "chirp.posts": tool("READ"),
                "chirp.feed": tool(input_class),
            },
            "connect": {"kind": "none", "probe": "chirp.posts"},
            "content": {"network": "Chirp", "post": "chirp.post", "measure": "chirp.measure", "posts": "chirp.posts"},
            "content_inputs": ({"tool": "chirp.feed", "list": "items", "kind": "activity"},),
        }
    )


def test_the_manifest_declares_the_engines_inputs_through_read_tools_only() -> None:
    catalog = Catalog([_manifest()])
    ((name, channel),) = catalog.content_channels()
    ((source_of, given),) = catalog.content_inputs()
    assert (name, channel.network, source_of, given.tool, given.kind) == (
        "chirp",
        "Chirp",
        "chirp",
        "chirp.feed",
        "activity",
    )
    with pytest.raises(ValueError, match=r"content_inputs: chirp\.feed must be a READ tool"):
        _manifest("SIDE_EFFECT")
    news = Catalog.load().content_inputs()
    assert [(n, i.tool, i.list) for n, i in news] == [("news", "news.top_stories", "stories")]


@pytest.mark.anyio
async def test_the_composition_root_builds_the_engine_as_a_follower_of_the_desk(db: Database) -> None:
    rig = build(db)
    desk = rig.desk
    desk.followers.clear()
    assembly = SimpleNamespace(cipher=cipher(), services=SimpleNamespace(approvals=desk))
    settings = SimpleNamespace(timezone="Europe/Berlin", demo_profile=True)
    ctx = SimpleNamespace(catalog=Catalog([_manifest()]), settings=settings)
    engine = build_content(cast(Any, ctx), db, cast(Any, assembly), cast(Any, rig.engine.calls))
    assert isinstance(engine, ContentEngine) and desk.followers == [engine]
    assert engine.networks() == [("chirp", "Chirp")] and engine.demo and str(engine.timezone) == "Europe/Berlin"
    empty = SimpleNamespace(catalog=Catalog([]), settings=settings)
    assert build_content(cast(Any, empty), db, cast(Any, assembly), cast(Any, rig.engine.calls)) is None


def test_the_two_core_jobs_are_scheduled_and_wired() -> None:
    schedule = load_schedule("UTC", jobs={})
    assert schedule.jobs["generate_content"].when == "cron 0 7 * * *"
    assert schedule.jobs["generate_content"].budget.tokens > 0 and CORE_JOBS["generate_content"].model == "required"
    assert schedule.jobs["content_engagement"].when == "every 2h"
    handlers = default_handlers(
        runner=cast(Any, None),
        tokens=cast(Any, None),
        briefing_sources=cast(Any, None),
        digest_sources=cast(Any, None),
        store=cast(Any, None),
        notifier=cast(Any, None),
        model=None,
        jobs={},
    )
    assert {"generate_content", "content_engagement"} <= set(handlers)
