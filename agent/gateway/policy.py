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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from agent.gateway.budget import BudgetLedger, InMemoryLedger
from agent.gateway.context import ArgProvenance, ContextLabel, Origin, atoms, normalise
from agent.gateway.labels import Conf, Integrity, Label, Source
from agent.gateway.redact import SecretScanner
from agent.gateway.registry import LiveTool, Registry, ToolClass, ToolSpec
from agent.gateway.render import neutralise_remote
from agent.gateway.schema import validate_args
from agent.gateway.urls import links_in, text_carries_private, url_carries_private, urls_in
from tools.egress import EgressError, EgressGuard

__all__ = [
    "DEFAULT_RULES",
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
        return self._prov[arg]

    def contest(self, arg: str) -> bool:
        """Mark an owner-derived argument that untrusted content also holds; True if it was."""
        p = self.prov(arg)
        if p.origin is Origin.PLAN:
            return False
        also = self.ctx.context.untrusted_holders(self.args.get(arg))
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
        if p.owner or p.contested or not srcs:
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


def _deny(rule: str, reason: str, *args: str) -> RuleHit:
    return RuleHit(rule, Verdict.DENY, reason, tuple(args))


def _approve(rule: str, reason: str, *args: str, step_up: bool = False) -> RuleHit:
    return RuleHit(rule, Verdict.REQUIRE_APPROVAL, reason, tuple(args), step_up)


def r0_known_and_pinned(ev: Eval) -> RuleHit | None:
    if ev.live is not None:
        return None
    why = "is not in the operator registry" if ev.spec is None else "is not approved or changed since approval"
    return _deny("R0_UNKNOWN_OR_CHANGED_TOOL", f"tool {ev.call.tool!r} {why}")


def r1_schema(ev: Eval) -> RuleHit | None:
    if ev.live is None:
        return None
    errors = validate_args(ev.call.args, ev.live.definition.input_schema)
    if errors:
        return _deny("R1_SCHEMA_OR_GHOST_ARG", "; ".join(errors[:5]))
    return None


def r2_admin(ev: Eval) -> RuleHit | None:
    if ev.spec is not None and ev.spec.cls is ToolClass.ADMIN:
        return _deny("R2_ADMIN_NOT_MODEL_CALLABLE", "this tool can only be used from the console")
    return None


def r3_secrets(ev: Eval) -> RuleHit | None:
    scanner = ev.ctx.scanner
    findings = scanner.scan(dict(ev.args))
    joined = "".join(a for a in atoms(dict(ev.args)))
    leaves = _string_leaves(ev.args)
    # A secret split over arguments: glued, or with a space where each part was grouped on its own.
    findings += scanner.scan("".join(leaves)) + scanner.scan(" ".join(leaves)) + scanner.scan(joined)
    if findings:
        kinds = sorted({f.kind for f in findings})
        paths = sorted({f.path.split(".")[1].split("[")[0] for f in findings if f.path.count(".") >= 1})
        return _deny("R3_SECRET_IN_ARGS", f"arguments contain a secret ({', '.join(kinds)})", *paths)
    return None


def _string_leaves(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _string_leaves(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _string_leaves(v)]
    return []


def r4_egress_allowlist(ev: Eval) -> RuleHit | None:
    spec = ev.spec
    if spec is None or spec.cls is not ToolClass.EGRESS_READ or spec.url_arg is None:
        return None
    url = ev.args.get(spec.url_arg)
    if not isinstance(url, str):
        return _deny("R4_EGRESS_NOT_ALLOWLISTED", "no URL to fetch", spec.url_arg)
    try:
        ev.ctx.egress.check_url(url, spec.allowlist or "")
    except EgressError as exc:
        return _deny("R4_EGRESS_NOT_ALLOWLISTED", str(exc), spec.url_arg)
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def r5_private_in_url(ev: Eval) -> RuleHit | None:
    if ev.spec is None:
        return None
    c = ev.ctx.context
    if ev.spec.third_party:
        # A third party's server receives every argument: private data may leave only if the owner typed it.
        for name, value in ev.args.items():
            for text in _strings(value):
                if text_carries_private(text, c.private_texts(), public_values=c.public_texts()):
                    return _approve(
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
            return _deny("R5_PRIVATE_DATA_IN_URL", f"a URL carries {len(leaks)} fragment(s) of private data")
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
        return _deny("R6_BUDGET", f"daily limit of {spec.per_day} calls reached")
    if spec.amount_arg and spec.amount_arg in ev.args:
        amount = _amount(ev.args[spec.amount_arg])
        if amount is None or amount < 0:
            return _deny("R6_BUDGET", "amount is not a valid number", spec.amount_arg)
        if spec.max_amount is not None and amount > spec.max_amount:
            return _deny("R6_BUDGET", f"amount {amount:g} exceeds the per-call limit {spec.max_amount:g}")
        if spec.per_day_amount is not None and ledger.amount_on(spec.name, today) + amount > spec.per_day_amount:
            return _deny("R6_BUDGET", f"amount would exceed the daily limit {spec.per_day_amount:g}")
    return None


def r7_financial_params(ev: Eval) -> RuleHit | None:
    """Money parameters must be the owner's: typed, from the plan, the owner's settings or a trusted tool.

    A value an agent made up (even with nothing untrusted read) is refused. A value the owner typed
    that untrusted content also proposed is contested: its chip names that content and the card is
    not clean, since a matching string is not the owner's instruction to act.
    """
    spec = ev.spec
    if spec is None or spec.cls is not ToolClass.FINANCIAL:
        return None
    present = [a for a in spec.control_args if a in ev.args]
    bad = [a for a in present if not ev.prov(a).owner or ev.prov(a).label.integrity < Integrity.OWNER]
    if bad:
        return _deny("R7_FINANCIAL_PARAMS_FROM_UNTRUSTED", "money movement parameters did not come from you", *bad)
    contested = [a for a in present if ev.prov(a).contested or ev.contest(a)]
    if contested:
        chips = "; ".join(f"{a}: {ev.prov(a).chip}" for a in contested)
        return _approve(
            "R7_FINANCIAL_PARAMS_CONTESTED", f"untrusted content proposed the same values ({chips})", *contested
        )
    return None


def r8_flow(ev: Eval) -> RuleHit | None:
    spec = ev.spec
    if spec is None or spec.owner_only or not (spec.recipients or spec.audience_public):
        return None
    data = ev.data_label()
    owners = {normalise(p) for p in ev.ctx.owner_principals}
    if spec.audience_public:
        ok, who = data.flows_to(["*public*"]), "the public"
    else:
        others = sorted(ev.recipients() - owners)
        ok, who = data.flows_to(others), ", ".join(others)
    classes = _classes_leaving(ev)
    if classes:
        return _deny(
            "R8_PRIVATE_CLASS_ON_INJECTED_REQUEST",
            f"your {', '.join(classes)} data would go to a recipient you did not name",
            *spec.data,
        )
    if ok:
        return None
    if data.conf >= Conf.SECRET:
        return _deny("R8_SECRET_FLOW", f"secret data may not be sent to {who}", *spec.data)
    return _approve("R8_PF_DECLASSIFY", f"data read from private sources would be shared with {who}", *spec.data)


def _classes_leaving(ev: Eval) -> list[str]:
    """Data classes (financial, health, messages, calendar) whose text the call would send to a
    recipient the owner did not name. Empty when every recipient is owner-derived."""
    spec = ev.spec
    if spec is None:
        return []
    owners = {normalise(p) for p in ev.ctx.owner_principals}
    injected = spec.audience_public and ev.ctx.context.label.integrity < Integrity.OWNER and ev.plan_entry is None
    for arg in spec.recipients:
        if arg in ev.args and set(atoms(ev.args[arg])) - owners and not ev.prov(arg).owner:
            injected = True
    if not injected:
        return []
    c = ev.ctx.context
    texts = [t for a in spec.data for t in _strings(ev.args.get(a))]
    who = ["*public*"] if spec.audience_public else sorted(ev.recipients() - owners)
    found: set[str] = set()
    for seg in c.segments:
        if seg.label.flows_to(who):
            continue  # the recipients may read it already (a reply to the people on the thread)
        classes = {k for src in seg.label.sources for k in ev.ctx.registry.data_classes_of(f"{src.server}.{src.tool}")}
        public = c.public_texts()
        if classes - found and any(text_carries_private(t, [seg.text], public_values=public, min_len=8) for t in texts):
            found |= classes
    return sorted(found)


def r9_untrusted_control(ev: Eval) -> RuleHit | None:
    spec = ev.spec
    if spec is None or spec.owner_only:
        return None
    c = ev.ctx.context
    if spec.cls is ToolClass.EGRESS_READ and spec.url_arg:
        url = ev.args.get(spec.url_arg)
        p = ev.prov(spec.url_arg)
        if p.owner and p.label.integrity >= Integrity.OWNER:
            return None  # typed by the owner or read from a trusted result; one the assistant wrote is not
        ev.chosen_after_untrusted(spec.url_arg)
        if isinstance(url, str) and c.found_in_public_web(url):
            # Following a link a public page offers is harmless until the context also holds private
            # data: then *which* link is followed can spell that data out, one request at a time.
            if not c.private_texts():
                return None
            return _approve(
                "R9_PT_UNTRUSTED_CONTROL",
                "which link to open was chosen after reading your private data and untrusted content",
                spec.url_arg,
            )
        return _approve("R9_PT_UNTRUSTED_CONTROL", f"the URL was not typed by you ({p.chip})", spec.url_arg)
    if not spec.consequential:
        return None
    # Every argument the registry does not declare as data is control: unclassified args fail safe.
    ctrl = list(dict.fromkeys([*spec.control_args, *spec.recipients, *(a for a in ev.args if a not in spec.data)]))
    if ev.strict:
        ctrl = list(dict.fromkeys([*ctrl, *ev.args]))
    tainted = [a for a in ctrl if a in ev.args and ev.prov(a).label.integrity < Integrity.OWNER]
    if ev.plan_entry is None and c.label.integrity < Integrity.OWNER:
        tainted.append(TOOL_CHOICE)
    if not tainted:
        return None
    chips = "; ".join(f"{a}: {ev.prov(a).chip}" for a in tainted if a != TOOL_CHOICE)
    reason = "decided after reading untrusted content" + (f" ({chips})" if chips else "")
    return _approve("R9_PT_UNTRUSTED_CONTROL", reason, *tainted)


def _reaches_others(ev: Eval) -> bool:
    spec = ev.spec
    if spec is None or spec.owner_only or not spec.consequential:
        return False
    owners = {normalise(p) for p in ev.ctx.owner_principals}
    return spec.audience_public or bool(ev.recipients() - owners)


def r10_untrusted_urls(ev: Eval) -> RuleHit | None:
    """Every text field of a side effect that reaches someone else: no link the owner did not type,
    in any form the recipient's client would make clickable (with or without a scheme)."""
    spec = ev.spec
    if spec is None or not spec.consequential:
        return None
    c = ev.ctx.context
    # A remote image loads with no click wherever the text is shown, the owner's own mail included.
    for arg, value in ev.args.items():
        for text in _strings(value):
            for host in neutralise_remote(text).removed:
                if c.owner_segment_for(normalise(text)) is None:
                    return _approve(
                        "R10_UNTRUSTED_URL_IN_MESSAGE", f"the text loads a remote image from {host}", str(arg)
                    )
    if not _reaches_others(ev):
        return None
    for arg, value in ev.args.items():
        if arg in spec.recipients:
            continue
        for link in links_in(value):
            if c.owner_segment_for(normalise(link)) is None:
                return _approve(
                    "R10_UNTRUSTED_URL_IN_MESSAGE", f"the message contains a link you did not type: {link}", str(arg)
                )
    return None


def _owner_directed(ev: Eval) -> bool:
    """The owner named both who receives the data and what is sent: every recipient and every data
    argument is the owner's (typed, from the contacts, or named by the service's own record) and no
    untrusted text proposed it. Sharing the owner's file with a colleague the owner named is then
    the owner's own declassification: still held for approval (R8), but not a warning on the card.
    Public posts never are."""
    spec = ev.spec
    if spec is None or spec.audience_public or not spec.recipients:
        return False
    args = [a for a in (*spec.recipients, *spec.data) if a in ev.args]
    return bool(args) and all(ev.prov(a).owner and not ev.prov(a).contested for a in args)


def r11_always_approve(ev: Eval) -> RuleHit | None:
    spec = ev.spec
    if spec is None or not (spec.always_approve or spec.cls is ToolClass.FINANCIAL):
        return None
    step_up = spec.step_up or spec.cls is ToolClass.FINANCIAL or spec.audience_public
    what = "moves money" if spec.cls is ToolClass.FINANCIAL else "always needs your approval"
    if spec.cls is ToolClass.FINANCIAL and spec.amount_arg and ev.args.get(spec.amount_arg) in (None, ""):
        # R6 had no amount to check: say so on the card rather than pass it silently.
        what += f"; no {spec.amount_arg} was given, so the money limits could not be checked: confirm the amount"
    return _approve("R11_ALWAYS_APPROVE", f"{spec.name} {what}", step_up=step_up)


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
        leaves = ev.spec is not None and verdict is not Verdict.DENY and _reaches_others(ev)
        data = ev.data_label() if leaves else Label.clean()
        prov = ev.all_prov() if verdict is not Verdict.DENY or ev.live is not None else {}
        kept = frozenset(ev.spec.data) if ev.spec is not None and not leaves else frozenset()
        directed = leaves and _owner_directed(ev)
        return Decision(verdict, tuple(hits), ev.qualified, prov, data, self.version, kept, directed)
