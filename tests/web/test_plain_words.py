"""Sentences instead of rule ids and JSON: approval cards and chat traces."""

from __future__ import annotations

from agent.gateway.card import ApprovalCard, CardArg
from web.plain_words import card_sentence, source_phrase, trace_sentence
from web.routes.chat_view import event_view


def _card(
    tool: str, rules: tuple[tuple[str, str], ...], args: tuple[CardArg, ...] = (), sources: tuple[str, ...] = ()
) -> ApprovalCard:
    return ApprovalCard(
        headline="EGRESS via " + tool,
        tool=tool,
        pin="abc",
        args=args,
        rules=rules,
        data_leaving=(),
        context_sources=sources,
        step_up_required=False,
        original_request=None,
    )


def _arg(name: str, *lines: str) -> CardArg:
    return CardArg(name, lines, "chip", True, False, False, ())


LEE = "email 18f30a from lee@example.com, 2026-12-02 09:00"


def test_a_reply_influenced_by_a_message() -> None:
    card = _card(
        "gmail.send",
        (("R9_PT_UNTRUSTED_CONTROL", "decided after reading untrusted content (to: ...)"),),
        (_arg("body", "Hi"), _arg("to", '["lee@example.com"]')),
        (LEE,),
    )
    assert card_sentence(card) == (
        "Aegis wants to send this email to lee@example.com because an email from lee@example.com asked for it, not you."
    )


def test_money_public_posts_and_unknown_tools() -> None:
    money = _card("broker.place_order", (("R11_ALWAYS_APPROVE", "broker.place_order moves money"),))
    assert card_sentence(money) == "Aegis wants to place this order with your broker because it moves money."
    post = _card(
        "x.post",
        (
            ("R11_ALWAYS_APPROVE", "x.post always needs your approval"),
            ("R10_UNTRUSTED_URL_IN_MESSAGE", "the message contains a link you did not type: https://e.example"),
        ),
    )
    assert card_sentence(post) == (
        "Aegis wants to post this on X because you approve every action of this kind, and "
        "the message contains a link you did not type: https://e.example."
    )
    rule = ("R9_PT_UNTRUSTED_CONTROL", "decided after reading untrusted content")
    drafted = _card("x.post", (rule,), sources=("news 7 from metroledger.example, 2026-12-03 06:00",))
    assert card_sentence(drafted, owner_asked=True) == (
        "Aegis wants to post this on X because its text draws on a news item from metroledger.example."
    )
    assert "asked for it, not you" in card_sentence(drafted)
    assert card_sentence(_card("notes.add", ())) == "Aegis wants to use notes.add."
    assert source_phrase(["web 1 from example.org, 2026-12-02 09:00"]) == "a web page from example.org"
    assert source_phrase(["garbage"]) is None


def test_chat_traces_are_sentences() -> None:
    assert trace_sentence("gmail.send", "approval_required", "ap1") == "Waiting for your approval to send this email."
    assert trace_sentence("plaid.balances", "ok", None) == "Read your balances."
    assert trace_sentence("gmail.send", "denied", None) == "Aegis refused to send this email: a safety rule stopped it."
    view = event_view(
        "tool_result",
        {"id": "c1", "name": "gmail__send", "content": '{"status": "approval_required", "approval_id": "ap1"}'},
    )
    assert view["sentence"] == "Waiting for your approval to send this email." and view["approval_id"] == "ap1"
    running = event_view("tool_call", {"id": "c1", "name": "plaid__balances", "input": {}})
    assert running["sentence"] == "Working: Read your balances…"
