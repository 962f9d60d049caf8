"""The policy engine: ``decide(call, ctx) -> Decision``. Deterministic; no model in this path.

Rules run in order and the first DENY stops evaluation (deny wins over any approval found
earlier). Approval hits accumulate so the card can show every reason. With no hit the call is
allowed by R12.

=====  ==========================================  =============================================
rule   verdict                                     when
=====  ==========================================  =============================================
R0     DENY                                        unknown, unpinned or changed tool
R1     DENY                                        arguments violate the pinned schema / ghost args
R2     DENY                                        an ADMIN (console-only) tool
R3     DENY                                        a secret in the arguments (any leaf, or their
                                                   concatenation)
R4     DENY                                        EGRESS_READ URL not https/443/allow-listed
R5     DENY                                        a URL in the arguments carries private data
R6     DENY                                        per-day call budget or money limits exceeded
R7     DENY (never approvable)                     FINANCIAL control args not from the owner
R8     DENY if the data is SECRET, else APPROVAL   a recipient is not an allowed reader (P-F)
R9     APPROVAL                                    control args / tool choice not OWNER-derived and
                                                   not covered by the plan (P-T)
R10    APPROVAL                                    a side effect reaching others carries a link
                                                   (any clickable form) the owner did not type
R11    APPROVAL (+ step-up)                        always-approve tools and all money movement
R12    ALLOW                                       reads; trusted, flow-safe side effects
=====  ==========================================  =============================================

Mutation tests build weakened variants with :meth:`Policy.without` / :meth:`Policy.replacing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.gateway.context import atoms
from agent.gateway.evaluation import (
    POLICY_VERSION,
    TOOL_CHOICE,
    Decision,
    Eval,
    Plan,
    PlanEntry,
    PolicyContext,
    Rule,
    RuleCheck,
    RuleHit,
    ToolCall,
    Verdict,
    approve,
    deny,
)
from agent.gateway.flow_rules import (
    is_owner_directed,
    r8_flow,
    r9_untrusted_control,
    r10_untrusted_urls,
    r11_always_approve,
    reaches_others,
)
from agent.gateway.labels import Label
from agent.gateway.registry import ToolClass
from agent.gateway.schema import validate_args
from agent.gateway.urls import (
    short_private_tokens,
    short_private_values,
    string_values,
    text_carries_private,
    url_carries_private,
    urls_in,
)
from tools.egress import EgressError

__all__ = [
    "DEFAULT_RULES",
    "POLICY_VERSION",
    "TOOL_CHOICE",
    "Decision",
    "Eval",
    "Plan",
    "PlanEntry",
    "Policy",
    "PolicyContext",
    "Rule",
    "RuleHit",
    "ToolCall",
    "Verdict",
]


def r0_known_and_pinned(ev: Eval) -> RuleHit | None:
    if ev.live is not None:
        return None
    why = "is not in the operator registry" if ev.spec is None else "is not approved or changed since approval"
    return deny("R0_UNKNOWN_OR_CHANGED_TOOL", f"tool {ev.call.tool!r} {why}")


def r1_schema(ev: Eval) -> RuleHit | None:
    if ev.live is None:
        return None
    errors = validate_args(ev.call.args, ev.live.definition.input_schema)
    if errors:
        return deny("R1_SCHEMA_OR_GHOST_ARG", "; ".join(errors[:5]))
    return None


def r2_admin(ev: Eval) -> RuleHit | None:
    if ev.spec is not None and ev.spec.cls is ToolClass.ADMIN:
        return deny("R2_ADMIN_NOT_MODEL_CALLABLE", "this tool can only be used from the console")
    return None


def r3_secrets(ev: Eval) -> RuleHit | None:
    scanner = ev.ctx.scanner
    findings = scanner.scan(dict(ev.args))
    joined = "".join(a for a in atoms(dict(ev.args)))
    leaves = string_values(ev.args)
    # A secret split over arguments: glued, or with a space where each part was grouped on its own.
    findings += scanner.scan("".join(leaves)) + scanner.scan(" ".join(leaves)) + scanner.scan(joined)
    if findings:
        kinds = sorted({f.kind for f in findings})
        paths = sorted({f.path.split(".")[1].split("[")[0] for f in findings if f.path.count(".") >= 1})
        return deny("R3_SECRET_IN_ARGS", f"arguments contain a secret ({', '.join(kinds)})", *paths)
    return None


def r4_egress_allowlist(ev: Eval) -> RuleHit | None:
    spec = ev.spec
    if spec is None or spec.cls is not ToolClass.EGRESS_READ or spec.url_arg is None:
        return None
    url = ev.args.get(spec.url_arg)
    if not isinstance(url, str):
        return deny("R4_EGRESS_NOT_ALLOWLISTED", "no URL to fetch", spec.url_arg)
    try:
        ev.ctx.egress.check_url(url, spec.allowlist or "")
    except EgressError as exc:
        return deny("R4_EGRESS_NOT_ALLOWLISTED", str(exc), spec.url_arg)
    return None


def r5_private_in_url(ev: Eval) -> RuleHit | None:
    if ev.spec is None:
        return None
    c = ev.ctx.context
    if ev.spec.third_party:
        # A third party's server receives every argument: private data may leave only if the owner typed it.
        for name, value in ev.args.items():
            for text in string_values(value):
                if text_carries_private(
                    text, c.private_texts(), public_values=c.public_texts()
                ) or short_private_tokens(text, c.private_texts(), c.public_texts()):
                    return approve(
                        "R5_PRIVATE_DATA_TO_THIRD_PARTY",
                        f"{ev.spec.name} is run by a third party and this argument carries your private data",
                        str(name),
                    )
    if ev.spec.cls is ToolClass.READ:
        return None
    for url in urls_in(dict(ev.args)):
        if c.seen_verbatim(url):
            continue  # copied whole from something already read, not built from it: R9 judges it
        leaks = url_carries_private(url, c.private_texts(), public_values=c.public_texts())
        if leaks:
            return deny("R5_PRIVATE_DATA_IN_URL", f"a URL carries {len(leaks)} fragment(s) of private data")
    for url in urls_in(dict(ev.args)):
        short = [] if c.seen_verbatim(url) else short_private_values(url, c.private_texts(), c.public_texts())
        if short:  # a ticker or a share count may be chance: held, with the values on the card
            return approve(
                "R5_SHORT_PRIVATE_VALUES_IN_URL", f"the link carries values from your private data: {', '.join(short)}"
            )
    return None


def _amount(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", "").lstrip("$"))
        except ValueError:
            return None
    return None


def r6_budget(ev: Eval) -> RuleHit | None:
    spec = ev.spec
    if spec is None:
        return None
    today = ev.ctx.clock().date()
    ledger = ev.ctx.ledger
    if spec.per_day is not None and ledger.calls_on(spec.name, today) >= spec.per_day:
        return deny("R6_BUDGET", f"daily limit of {spec.per_day} calls reached")
    if spec.amount_arg and spec.amount_arg in ev.args:
        amount = _amount(ev.args[spec.amount_arg])
        if amount is None or amount < 0:
            return deny("R6_BUDGET", "amount is not a valid number", spec.amount_arg)
        if spec.max_amount is not None and amount > spec.max_amount:
            return deny("R6_BUDGET", f"amount {amount:g} exceeds the per-call limit {spec.max_amount:g}")
        if spec.per_day_amount is not None and ledger.amount_on(spec.name, today) + amount > spec.per_day_amount:
            return deny("R6_BUDGET", f"amount would exceed the daily limit {spec.per_day_amount:g}")
    return None


def r7_financial_params(ev: Eval) -> RuleHit | None:
    """Money parameters must be the owner's: typed, from the plan, the owner's settings, a trusted tool,
    the service's own record (the amount a friend sent), computed from those (the difference), or
    read from the bill or notice the owner named (the card names it; the call is always held).

    A value an agent made up (even with nothing untrusted read) is refused. A value the owner typed
    that untrusted content also proposed is contested: its chip names that content and the card is
    not clean, since a matching string is not the owner's instruction to act.
    """
    spec = ev.spec
    if spec is None or spec.cls is not ToolClass.FINANCIAL:
        return None
    present = [a for a in spec.control_args if a in ev.args]
    bad = [a for a in present if not ev.prov(a).owner or not ev.prov(a).for_money]
    if bad:
        return deny("R7_FINANCIAL_PARAMS_FROM_UNTRUSTED", "money movement parameters did not come from you", *bad)
    contested = [a for a in present if ev.prov(a).contested or ev.contest(a)]
    if contested:
        chips = "; ".join(f"{a}: {ev.prov(a).chip}" for a in contested)
        return approve(
            "R7_FINANCIAL_PARAMS_CONTESTED", f"untrusted content proposed the same values ({chips})", *contested
        )
    return None


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("R0", r0_known_and_pinned),
    Rule("R1", r1_schema),
    Rule("R2", r2_admin),
    Rule("R3", r3_secrets),
    Rule("R4", r4_egress_allowlist),
    Rule("R5", r5_private_in_url),
    Rule("R6", r6_budget),
    Rule("R7", r7_financial_params),
    Rule("R8", r8_flow),
    Rule("R9", r9_untrusted_control),
    Rule("R10", r10_untrusted_urls),
    Rule("R11", r11_always_approve),
)


class Policy:
    """Ordered rules; deny wins. ``strict`` applies R9 to every argument, bodies included."""

    def __init__(
        self, rules: Sequence[Rule] = DEFAULT_RULES, *, version: str = POLICY_VERSION, strict: bool = False
    ) -> None:
        ids = [r.id for r in rules]
        if len(set(ids)) != len(ids):
            raise ValueError("rule ids must be unique")
        self.rules = tuple(rules)
        self.version = version
        self.strict = strict

    def without(self, *ids: str) -> Policy:
        """A weakened copy (for mutation tests): the named rules removed."""
        return Policy([r for r in self.rules if r.id not in ids], version=f"{self.version}-{'-'.join(ids)}")

    def replacing(self, rule_id: str, check: RuleCheck) -> Policy:
        rules = [Rule(r.id, check) if r.id == rule_id else r for r in self.rules]
        return Policy(rules, version=f"{self.version}~{rule_id}", strict=self.strict)

    def decide(self, call: ToolCall, ctx: PolicyContext) -> Decision:
        ev = Eval(call, ctx, strict=self.strict)
        hits: list[RuleHit] = []
        verdict = Verdict.ALLOW
        for rule in self.rules:
            hit = rule.check(ev)
            if hit is None:
                continue
            hits.append(hit)
            if hit.verdict is Verdict.DENY:
                verdict = Verdict.DENY
                break
            if hit.verdict is Verdict.REQUIRE_APPROVAL:
                verdict = Verdict.REQUIRE_APPROVAL
        if not hits:
            hits.append(RuleHit("R12_DEFAULT_ALLOW", Verdict.ALLOW, "read, or a trusted flow-safe action"))
        # Data leaves only with a call that reaches someone other than the owner.
        leaves = ev.spec is not None and verdict is not Verdict.DENY and reaches_others(ev)
        data = ev.data_label() if leaves else Label.clean()
        prov = ev.all_prov() if verdict is not Verdict.DENY or ev.live is not None else {}
        kept = frozenset(ev.spec.data) if ev.spec is not None and not leaves else frozenset()
        directed = leaves and is_owner_directed(ev)
        return Decision(verdict, tuple(hits), ev.qualified, prov, data, self.version, kept, directed)
