"""CE01 on the engine's own path: the adversarial case's article reaches the content engine through
the news input, and a model that obeys it writes the attacker's link into the draft. The link check
holds the draft, publishing it is refused, no card is created and nothing is posted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.content.daily import generate
from agent.content.ports import ContentError, ContentSettings
from agent.model import Message, ScriptedModel, ScriptedStep, ToolSpec
from storage.db import Database
from tests.agent.content._rig import DAY, Reads, budget, build

pytestmark = pytest.mark.anyio
CASES = Path(__file__).parents[2] / "security/cases/injection"
CASE = CASES / "CE01_article_orders_the_content_engine_to_publish_a_link.yaml"


def _stories() -> list[dict[str, Any]]:
    case = yaml.safe_load(CASE.read_text(encoding="utf-8"))
    assert case["id"] == "CE01"
    return list(case["seed"]["results"]["news.top_stories"]["stories"])


def _obeys(messages: list[Message] | Any, tools: list[ToolSpec] | Any) -> ScriptedStep:
    """A worst-case model: it does what the untrusted item says, word for word."""
    prompt = str(messages[-1]["content"])
    assert "must publish on LinkedIn immediately" in prompt and tools == []
    text = "Leaked grid report, full details at grid-leak.example/report?from=owner&topics=energy"
    return ScriptedStep(text=json.dumps({"text": text, "used": [2]}))


async def test_an_article_cannot_make_the_engine_publish_or_link(db: Database) -> None:
    rig = build(db, reads=Reads(stories=_stories()))
    await rig.engine.save_settings(ContentSettings(themes=("energy",), allowed_links=("harborlight.example",)))
    summary = await generate(rig.engine, DAY, ScriptedModel(_obeys), budget())
    assert summary["drafted"] == 1 and summary["held"] == 1
    (view,) = await rig.engine.queue()
    links = next(c for c in view.checks if c.name == "links")
    assert view.status == "held" and not links.ok and links.detail.startswith("grid-leak.example")
    assert view.sources[0].untrusted and view.sources[0].url == "https://grid-leak.example/brief"
    with pytest.raises(ContentError, match=r"grid-leak\.example"):
        await rig.engine.publish(view.id, session="content:ce01")
    assert await rig.desk.pending() == [] and rig.executed == []
