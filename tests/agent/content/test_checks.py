"""Every check a draft passes, each failing case, and the gateway's refusal of private inputs."""

from __future__ import annotations

from typing import Any

import pytest

from agent.content.checks import (
    PastText,
    check_hidden,
    check_length,
    check_links,
    check_near_duplicate,
    similarity,
)
from agent.gateway.content import refusal
from agent.gateway.labels import Conf, Integrity, Label
from tests.agent.content._rig import news_label

pytestmark = pytest.mark.anyio
OK_HOSTS = ("example.org", "harborlight.example")


async def _measure(tool: str, args: dict[str, Any]) -> Any:
    assert tool == "x.measure"
    return {"length": len(args["text"]) * 2, "limit": 280}  # a network weighing every character double


async def _down(tool: str, args: dict[str, Any]) -> Any:
    raise RuntimeError("the server is down")


async def test_length_is_the_networks_own_count_against_its_limit() -> None:
    ok, limit = await check_length("a" * 140, "x.measure", _measure)
    assert ok.ok and ok.detail == "280 of 280" and limit == 280
    over, _ = await check_length("a" * 141, "x.measure", _measure)
    assert not over.ok and over.detail == "282 of 280"
    unknown, none = await check_length("short", "x.measure", _down)
    assert not unknown.ok and none is None and "could not be measured" in unknown.detail


def test_a_near_duplicate_names_the_post_it_repeats() -> None:
    old = "Logging the misses taught me more about forecasting than any dashboard of hits ever did."
    past = [
        PastText("Something else entirely about gardens and rain.", "your post of 2026-11-02"),
        PastText(old, "your post of 2026-11-20"),
    ]
    again = check_near_duplicate(old.replace("ever did", "did"), past)
    assert not again.ok and again.detail.endswith("like your post of 2026-11-20")
    fresh = check_near_duplicate("A new idea: write the expected result down before running the tool.", past)
    assert fresh.ok
    assert similarity(old, old) == 1.0 and similarity(old, "") == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "Read https://evil.example/grid",
        "Read www.evil.example now",
        "Read evil.example/login now",
        "Mail me: mailto:leak@evil.example",
        "Read https://example.org@evil.example/x",  # userinfo: the host is evil.example
        "Read https://example.org.evil.example/x",  # a look-alike suffix
    ],
)
def test_a_link_to_a_host_the_owner_did_not_approve_fails_in_any_clickable_form(text: str) -> None:
    check = check_links(text, OK_HOSTS)
    assert not check.ok and "not among the hosts you approved" in check.detail


def test_links_to_approved_hosts_and_their_subdomains_pass() -> None:
    text = "See https://www.harborlight.example/2026/grid and docs.example.org/guide"
    assert check_links(text, OK_HOSTS).ok
    assert check_links("No links here at all.", ()).ok
    assert not check_links("See https://www.harborlight.example/2026/grid", ()).ok  # nothing approved


def test_hidden_characters_fail() -> None:
    bad = check_hidden("Looks clean\u200b but is not\u202e")
    assert not bad.ok and "U+200B" in bad.detail and "U+202E" in bad.detail
    assert check_hidden("Plain text, with an em dash \u2014 and accents: café.").ok


def test_the_gateway_refuses_private_inputs_and_names_them() -> None:
    assert refusal([news_label()]) is None
    why = refusal([news_label(), news_label(Conf.PRIVATE)])
    assert why is not None and "C1_PRIVATE_INPUT" in why and "news.top_stories (news story:s1" in why
    secret = refusal([Label.of(Integrity.OWNER, Conf.SECRET)])
    assert secret is not None and "an input labelled SECRET" in secret
