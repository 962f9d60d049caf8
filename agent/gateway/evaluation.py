"""A call under evaluation: what the rules return, the context they judge in, and the provenance
of each argument that several rules share. The rules themselves are in ``policy.py`` (R0–R7) and
``flow_rules.py`` (R8–R11)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from agent.gateway.budget import BudgetLedger, InMemoryLedger
from agent.gateway.context import NAMED_LINK_BUDGET, ArgProvenance, ContextLabel, Origin, atoms, normalise
from agent.gateway.intent import asks_for_tool
from agent.gateway.labels import Conf, Integrity, Label, Source
from agent.gateway.redact import SecretScanner
from agent.gateway.registry import LiveTool, Registry, ToolClass, ToolSpec
from tools.egress import EgressGuard

__all__ = [
    "POLICY_VERSION",
    "TOOL_CHOICE",
    "Decision",
    "Eval",
    "Plan",
    "PlanEntry",
    "PolicyContext",
    "Rule",
    "RuleCheck",
    "RuleHit",
    "ToolCall",
    "Verdict",
    "approve",
    "deny",
]

POLICY_VERSION = "gw-2026.1"
TOOL_CHOICE = "<tool_choice>"


class Verdict(Enum):
    ALLOW = "allow"
    REQUIRE_APPROVAL = "pending"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class ToolCall:
    call_id: str
    tool: str  # "server.tool" or the model-facing "server__tool"
    args: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule: str
    verdict: Verdict
    reason: str
    args: tuple[str, ...] = ()
    step_up: bool = False


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """An owner-approved intent: the tool, and for constrained args the allowed values."""

    tool: str
    args: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def covers(self, tool: str, call_args: Mapping[str, Any]) -> bool:
        if tool != self.tool:
            return False
        for arg, allowed in self.args.items():
            norm = {normalise(a) for a in allowed}
            if not all(a in norm for a in atoms(call_args.get(arg))):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Plan:
    entries: tuple[PlanEntry, ...] = ()

    def covering(self, tool: str, args: Mapping[str, Any]) -> PlanEntry | None:
        return next((e for e in self.entries if e.covers(tool, args)), None)


@dataclass
class PolicyContext:
    """Everything a decision reads. One per conversation (or sub-conversation)."""

    context: ContextLabel
    registry: Registry
    scanner: SecretScanner
    egress: EgressGuard
    owner_principals: frozenset[str] = frozenset({"owner"})
    plan: Plan = field(default_factory=Plan)
    ledger: BudgetLedger = field(default_factory=InMemoryLedger)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    session_id: str = "session"
    original_request: str | None = None  # the owner's request, verbatim, for the approval card


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    hits: tuple[RuleHit, ...]
    tool: str | None
    provenance: Mapping[str, ArgProvenance]
    data_label: Label
    policy_version: str
    kept: frozenset[str] = frozenset()  # data arguments of a call that reaches no one but the owner
    owner_directed: bool = False  # what leaves and who receives it are both the owner's (see _owner_directed)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(h.rule for h in self.hits)

    @property
    def step_up(self) -> bool:
        return any(h.step_up for h in self.hits)

    @property
    def data_leaving(self) -> tuple[Source, ...]:
        return tuple(self.data_label.untrusted_sources())


class Eval:
    """One call under evaluation; caches what several rules need."""

    def __init__(self, call: ToolCall, ctx: PolicyContext, *, strict: bool) -> None:
        self.call = call
        self.ctx = ctx
        self.strict = strict
        self.qualified = ctx.registry.resolve(call.tool)
        self.live: LiveTool | None = ctx.registry.live(call.tool)
        self.spec: ToolSpec | None = ctx.registry.spec(call.tool)
        self.args: Mapping[str, Any] = call.args if isinstance(call.args, Mapping) else {}
        entry = ctx.plan.covering(self.qualified or "", self.args) if self.qualified else None
        self.plan_entry = entry
        self._prov: dict[str, ArgProvenance] = {}

    def prov(self, arg: str) -> ArgProvenance:
        if arg not in self._prov:
            if self.plan_entry is not None and arg in self.plan_entry.args:
                owner = Label(Integrity.OWNER, Conf.PUBLIC)
                self._prov[arg] = ArgProvenance(arg, Origin.PLAN, owner, Origin.PLAN.value)
            else:
                p = self.ctx.context.provenance(arg, self.args.get(arg))
                spec = self.spec
                if not p.owner and spec is not None and spec.cls is ToolClass.FINANCIAL and arg == spec.amount_arg:
                    p = self.ctx.context.computed_amount(arg, self.args.get(arg)) or p
                self._prov[arg] = _recorded(p, self.ctx.context, self.args.get(arg))
                if p.origin is Origin.NAMED and spec is not None and not self._named_serves(arg, p):
                    # What the owner named lends its values to the action they asked for, nothing else.
                    where = p.chip.removeprefix(f"{Origin.NAMED.value}: ")
                    chip = f"from untrusted: {where} (you named it, not for this)"
                    self._prov[arg] = ArgProvenance(arg, Origin.UNTRUSTED_ITEM, p.label, chip)
        return self._prov[arg]

    def _named_serves(self, arg: str, p: ArgProvenance) -> bool:
        """A value from a source the owner named serves this call: the owner asked for this kind of
        action ("reserve", "invite", an "event"), and it is not words going public."""
        spec = self.spec
        if spec is None or (spec.audience_public and arg in spec.data):
            return False
        if arg in spec.recipients and not p.for_people:
            return False  # who receives it: only an address the owner said to find there
        if spec.cls is ToolClass.FINANCIAL or not spec.consequential:
            return True  # reading on from it; for money R7 asks more (named in the sentence that pays)
        return asks_for_tool(self.ctx.context.typed_texts(), spec.name)

    def contest(self, arg: str) -> bool:
        """Mark an owner-derived argument that untrusted content also holds; True if it was."""
        p = self.prov(arg)
        if p.origin is Origin.PLAN:
            return False
        also = self.ctx.context.untrusted_holders(self.args.get(arg), named=p.origin is not Origin.NAMED)
        if not also:
            return False
        where = "; ".join(s.describe() for s in also)
        self._prov[arg] = ArgProvenance(
            arg, p.origin, p.label, f"{p.chip}, and also proposed by untrusted: {where}", also[0], tuple(also)
        )
        return True

    def chosen_after_untrusted(self, arg: str) -> None:
        """A link the assistant wrote, after reading untrusted content: which one it opens can spell out
        what it read, so the card marks it as that content's choice."""
        p = self.prov(arg)
        srcs = tuple(self.ctx.context.label.untrusted_sources())
        if p.contested or not srcs:
            return
        c = self.ctx.context
        if p.owner and not (p.origin is Origin.NAMED and c.private_texts()):
            return  # typed, or a link in what the owner named with nothing private for its choice to spell
        if p.origin is Origin.NAMED and c.named_links_left:
            n = NAMED_LINK_BUDGET - c.named_links_left + 1
            chip = f"{p.chip} (link {n} of at most {NAMED_LINK_BUDGET} opened from it this turn)"
            self._prov[arg] = replace(p, chip=chip)
            return
        where = "; ".join(s.describe() for s in srcs)
        self._prov[arg] = ArgProvenance(
            arg, p.origin, self.ctx.context.label, f"{p.chip}, chosen after reading: {where}", srcs[0], srcs
        )

    def all_prov(self) -> dict[str, ArgProvenance]:
        return {a: self.prov(a) for a in self.args}

    def data_label(self) -> Label:
        """What the data arguments carry: each value's own label (what it was read from or draws on).
        Where the audience is not the owner's (a recipient the owner did not name, a public post),
        anything read may be carried in any form, so the whole context's secrecy is joined in."""
        spec = self.spec
        names = spec.data if spec is not None else ()
        label = Label.join_all(self.prov(a).label for a in names if a in self.args)
        c = self.ctx.context.label
        present = [a for a in names if a in self.args]
        own_words = bool(present) and all(self.prov(a).owner for a in present)
        if spec is not None and not own_words and (self.audience_injected() or c.conf >= Conf.SECRET):
            # Text the owner typed carries only itself; anything else may carry what was read in any
            # form, and secrets never leave that way, whoever asked.
            label = label.join(Label(label.integrity, c.conf, c.readers, c.sources))
        return label

    def audience_injected(self) -> bool:
        spec = self.spec
        if spec is None:
            return False
        if spec.audience_public:
            return self.plan_entry is None
        owners = {normalise(p) for p in self.ctx.owner_principals}
        return any(
            arg in self.args and set(atoms(self.args[arg])) - owners and not self.prov(arg).owner
            for arg in spec.recipients
        )

    def recipients(self) -> set[str]:
        spec = self.spec
        if spec is None:
            return set()
        return {r for a in spec.recipients for r in atoms(self.args.get(a))}


def _recorded(p: ArgProvenance, context: ContextLabel, value: Any) -> ArgProvenance:
    """A value the service's record gives (an id, a sender): the owner's to use, unless text others
    wrote also names it, which makes it that text's choice as much as the owner's (contested)."""
    if p.origin is not Origin.SERVICE_RECORD:
        return p
    also = context.record_contested(value)
    if not also:
        return p
    where = "; ".join(s.describe() for s in also)
    return ArgProvenance(
        p.arg, p.origin, p.label, f"{p.chip}, and also named by untrusted: {where}", also[0], tuple(also)
    )


RuleCheck = Callable[[Eval], RuleHit | None]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str  # "R0" … "R12"
    check: RuleCheck


def deny(rule: str, reason: str, *args: str) -> RuleHit:
    return RuleHit(rule, Verdict.DENY, reason, tuple(args))


def approve(rule: str, reason: str, *args: str, step_up: bool = False) -> RuleHit:
    return RuleHit(rule, Verdict.REQUIRE_APPROVAL, reason, tuple(args), step_up)
