"""Health data is SECRET in the shipped registry: once read, the gateway refuses to send it to
anyone but the owner, outright (no approval card)."""

from __future__ import annotations

from agent.gateway.labeller import default_labeller
from agent.gateway.labels import Conf, LabelledResult
from agent.gateway.policy import Policy, ToolCall, Verdict
from tests.agent.gateway._fixtures import T0, approved_registry, make_ctx

NIGHT = {"nights": [{"date": "2026-12-02", "total_hours": 7.1, "deep_hours": 1.2}], "sources": []}


def test_sleep_read_then_mailed_to_a_third_party_is_denied() -> None:
    registry = approved_registry()
    spec = registry.spec("applehealth.sleep")
    assert spec is not None and spec.result.conf is Conf.SECRET
    ctx = make_ctx(registry)
    ctx.context.add_owner_text("send my sleep from last night to coach@x.example")
    label = default_labeller(spec, {}, NIGHT, T0, ["owner"])
    ctx.context.append(LabelledResult(str(NIGHT), label))
    args = {"to": ["coach@x.example"], "subject": "sleep", "body": "7.1 hours, 1.2 deep"}
    decision = Policy().decide(ToolCall("c1", "gmail.send", args), ctx)
    assert decision.verdict is Verdict.DENY
    assert "R8_SECRET_FLOW" in decision.rule_ids
