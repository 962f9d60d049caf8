"""The tool gateway: the only code path from a model's tool call to a side effect.

One call goes: registry lookup and pin check → schema check → labels → policy →

* **allow**: audit row, then the injected executor runs the call;
* **approval**: a pending approval with its card; the model gets ``approval_required`` and
  nothing happens;
* **deny**: audit row and a structured refusal.

Results are redacted before anything else sees them, labelled, and appended to the context
label. A call carrying a :class:`Grant` is re-checked by the policy (a DENY still wins) and the
grant is verified against the exact call and consumed before execution.

If the audit sink raises, the exception propagates and the call has no effect (fail closed). For
a call that sends nothing outside Aegis (a contained read: READ class, our own server, no URL) the
allow row is committed while the call runs and the result is thrown away unless the row committed;
every other call runs only after its row is committed. An executor signals a model-visible failure
by raising :class:`ToolFailed`; any other exception propagates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Any

from agent.gateway.approvals import ApprovalError, ApprovalService, Grant, PendingApproval, args_hash
from agent.gateway.card import build_card, headline_for, preview_facts
from agent.gateway.context import Origin, atoms, content_text, normalise
from agent.gateway.intent import address_named_in, asks_to_act, money_request_naming
from agent.gateway.labeller import default_labeller
from agent.gateway.labels import Conf, Integrity, Label, LabelledResult
from agent.gateway.policy import Decision, Policy, PolicyContext, ToolCall, Verdict
from agent.gateway.registry import ModelTool, ToolClass, ToolSpec
from storage.audit import AuditEvent

__all__ = [
    "AuditSink",
    "ExecRequest",
    "Executor",
    "GatewayResult",
    "GatewayStatus",
    "Labeller",
    "SinkEvent",
    "SinkLog",
    "ToolFailed",
    "ToolGateway",
]


class ToolFailed(Exception):
    """Raised by an executor for a failure the model may see (the message is redacted)."""


@dataclass(frozen=True, slots=True)
class ExecRequest:
    call: ToolCall
    spec: ToolSpec
    label: Label  # the join of the arguments' labels: persist it with stored data

    @property
    def server(self) -> str:
        return self.spec.server

    @property
    def tool(self) -> str:
        return self.spec.tool


Executor = Callable[[ExecRequest], Awaitable[Any]]
AuditSink = Callable[[AuditEvent], Awaitable[None]]
Labeller = Callable[[ToolSpec, Mapping[str, Any], Any, datetime, Iterable[str]], Label]


@dataclass(frozen=True, slots=True)
class SinkEvent:
    """One executed call with a possible effect on the world (everything but READ)."""

    call_id: str
    tool: str
    cls: ToolClass
    args_hash: str
    rule_ids: tuple[str, ...]
    authorised_by: str  # "policy" (ALLOW) or "grant:<approval id>"
    label: Label


@dataclass
class SinkLog:
    events: list[SinkEvent] = field(default_factory=list)

    def record(self, event: SinkEvent) -> None:
        self.events.append(event)

    def unapproved(self) -> list[SinkEvent]:
        """Side effects run neither by an ALLOW decision nor with a grant (must always be empty)."""
        return [e for e in self.events if not (e.authorised_by == "policy" or e.authorised_by.startswith("grant:"))]


class GatewayStatus(Enum):
    OK = "ok"
    APPROVAL_REQUIRED = "approval_required"
    DENIED = "denied"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class GatewayResult:
    status: GatewayStatus
    call_id: str
    tool: str
    content: Any  # redacted; safe for the model context
    decision: Decision
    label: Label | None = None
    approval: PendingApproval | None = None
    secrets_redacted: int = 0

    @property
    def is_error(self) -> bool:
        return self.status is not GatewayStatus.OK

    def to_model(self) -> dict[str, Any]:
        """The JSON payload for the model's ``tool_result`` block."""
        if self.status is GatewayStatus.OK:
            return {"status": "ok", "result": self.content}
        if self.status is GatewayStatus.APPROVAL_REQUIRED:
            assert self.approval is not None
            return {
                "status": "approval_required",
                "approval_id": self.approval.approval_id,
                "message": "The owner must approve this action in the console. It has not been done.",
            }
        out: dict[str, Any] = {"status": self.status.value, "rules": list(self.decision.rule_ids)}
        out["message"] = self.content
        return out


class ToolGateway:
    def __init__(
        self,
        *,
        policy: Policy,
        approvals: ApprovalService,
        executor: Executor,
        audit: AuditSink,
        sink_log: SinkLog | None = None,
        labeller: Labeller = default_labeller,
        secret_taints_context: bool = True,
    ) -> None:
        self.policy = policy
        self.approvals = approvals
        self._execute = executor
        self._audit = audit
        self.sink_log = sink_log if sink_log is not None else SinkLog()
        self._labeller = labeller
        self._secret_taints = secret_taints_context

    @staticmethod
    def model_tools(ctx: PolicyContext) -> list[ModelTool]:
        return ctx.registry.model_tools()

    async def _audit_row(self, call: ToolCall, decision: Decision, ctx: PolicyContext, result: str) -> None:
        await self._audit(
            AuditEvent(
                actor=f"agent:{ctx.session_id}",
                action="tool.call",
                result=result,
                resource=decision.tool or call.tool,
                reason=",".join(decision.rule_ids),
                trace_id=call.call_id,
                details={"args_sha256": args_hash(call.args), "policy": decision.policy_version},
            )
        )

    @staticmethod
    def _refusal(call: ToolCall, decision: Decision, ctx: PolicyContext, message: str) -> GatewayResult:
        text, _ = ctx.scanner.redact(message)
        return GatewayResult(GatewayStatus.DENIED, call.call_id, decision.tool or call.tool, text, decision)

    async def call(self, call: ToolCall, ctx: PolicyContext, *, grant: Grant | None = None) -> GatewayResult:
        """Run one model tool call through the gateway."""
        decision = self.policy.decide(call, ctx)
        tool = decision.tool or call.tool
        if decision.verdict is Verdict.DENY:
            await self._audit_row(call, decision, ctx, "deny")
            reasons = "; ".join(h.reason for h in decision.hits if h.verdict is Verdict.DENY)
            return self._refusal(call, decision, ctx, f"Refused by policy: {reasons}")
        spec = ctx.registry.spec(tool)
        if spec is None:  # only reachable with a weakened policy that dropped R0
            await self._audit_row(call, decision, ctx, "deny")
            return self._refusal(call, decision, ctx, "Refused: unknown tool")
        if grant is not None:
            try:
                await self.approvals.verify_and_consume(
                    grant, call, tool=tool, session_id=ctx.session_id, policy_version=self.policy.version
                )
            except ApprovalError as exc:
                await self._audit_row(call, decision, ctx, "deny")
                return self._refusal(call, decision, ctx, f"Refused: approval not valid ({type(exc).__name__})")
            return await self._run(call, spec, decision, ctx, f"grant:{grant.approval_id}")
        if decision.verdict is Verdict.REQUIRE_APPROVAL:
            live = ctx.registry.live(tool)
            card = build_card(
                call,
                decision,
                ctx.context,
                ctx.scanner,
                headline=headline_for(decision, spec.cls.value, call.args),
                pin=live.pin if live else "",
                original_request=ctx.original_request,
            )
            if spec.preview is not None:
                facts = await self._preview(call, spec.preview, ctx)
                if isinstance(facts, str):  # the preview refused: the owner is not asked to approve it
                    await self._audit_row(call, decision, ctx, "deny")
                    return self._refusal(call, decision, ctx, f"Refused before approval: {facts}")
                card = replace(card, facts=facts, facts_from=spec.preview)
            pending = await self.approvals.request(call, decision, session_id=ctx.session_id, card=card)
            await self._audit_row(call, decision, ctx, "pending")
            return GatewayResult(GatewayStatus.APPROVAL_REQUIRED, call.call_id, tool, None, decision, approval=pending)
        return await self._run(call, spec, decision, ctx, "policy")

    async def _preview(self, call: ToolCall, preview: str, ctx: PolicyContext) -> tuple[tuple[str, str], ...] | str:
        """Run the tool's preview (a READ of the same server) with the call's exact arguments: its
        answer (latest quote, estimated notional, limits...) goes on the card; its refusal is the
        reason the call is refused. Audited like any read."""
        spec = ctx.registry.spec(preview)
        if spec is None or spec.cls is not ToolClass.READ:
            return f"{preview} is not an available read"
        pcall = ToolCall(f"{call.call_id}:preview", spec.name, call.args)
        pdecision = self.policy.decide(pcall, ctx)
        if pdecision.verdict is not Verdict.ALLOW:
            await self._audit_row(pcall, pdecision, ctx, "deny")
            return "its preview was not allowed"
        await self._audit_row(pcall, pdecision, ctx, "allow")
        try:
            raw = await self._execute(ExecRequest(pcall, spec, ctx.context.label))
        except ToolFailed as exc:
            text, _ = ctx.scanner.redact(str(exc), generic=True)
            return text[:500]
        return preview_facts(raw, ctx.scanner)

    async def _audited(self, request: ExecRequest, decision: Decision, ctx: PolicyContext, authorised_by: str) -> Any:
        """Commit the allow row, then execute; for a contained read, both at once (see the module doc)."""
        call, spec = request.call, request.spec
        allow = self._audit_row(call, decision, ctx, "allow")
        if not contained_read(spec):
            await allow
            if spec.cls is not ToolClass.READ:
                sink = SinkEvent(
                    call.call_id,
                    spec.name,
                    spec.cls,
                    args_hash(call.args),
                    decision.rule_ids,
                    authorised_by,
                    request.label,
                )
                self.sink_log.record(sink)
            return await self._execute(request)
        audited, raw = await asyncio.gather(allow, self._execute(request), return_exceptions=True)
        if isinstance(audited, BaseException):
            raise audited  # the read happened inside Aegis, but its result goes nowhere
        if isinstance(raw, BaseException):
            raise raw
        return raw

    async def _run(
        self, call: ToolCall, spec: ToolSpec, decision: Decision, ctx: PolicyContext, authorised_by: str
    ) -> GatewayResult:
        arg_label = Label.join_all(p.label for p in decision.provenance.values()).join(ctx.context.label)
        request = ExecRequest(call, spec, arg_label)
        now = ctx.clock()
        try:
            raw = await self._audited(request, decision, ctx, authorised_by)
        except ToolFailed as exc:
            await self._audit_row(call, decision, ctx, "error")
            return self._failed(call, spec, decision, ctx, str(exc), now)
        if spec.cls is not ToolClass.READ:
            amount = _number(call.args.get(spec.amount_arg)) if spec.amount_arg else 0.0
            ctx.ledger.record(spec.name, now, amount)
        content, findings = ctx.scanner.redact_value(raw)
        label = self._labeller(spec, call.args, content, now, ctx.owner_principals)
        if findings and self._secret_taints:
            label = label.join(Label(label.integrity, Conf.SECRET, label.readers))
        if spec.cls is not ToolClass.READ:
            label = label.join(_echoed(decision, call.args, content))
        typed, names = ctx.context.typed_texts(), _named_by(call.args)
        named = (
            spec.cls in (ToolClass.READ, ToolClass.EGRESS_READ)
            and all((src.server, src.tool) == (spec.server, spec.tool) for src in label.sources)  # nothing stored
            and names_source(decision, call.args)
            and asks_to_act(typed)
        )
        url = decision.provenance.get(spec.url_arg) if spec.url_arg else None
        if url is not None and url.origin is Origin.NAMED and ctx.context.private_texts():
            ctx.context.named_link_opened()
        ctx.context.append(
            LabelledResult(content, label),
            spec.result.service_fields,
            named=named,
            for_money=named and money_request_naming(typed, names),
            for_people=named and address_named_in(typed, names),
        )
        return GatewayResult(
            GatewayStatus.OK, call.call_id, spec.name, content, decision, label=label, secrets_redacted=len(findings)
        )

    def _failed(
        self, call: ToolCall, spec: ToolSpec, decision: Decision, ctx: PolicyContext, message: str, now: datetime
    ) -> GatewayResult:
        """Error text echoes whatever the server held (tokens, other people's data): redact it with the
        generic detectors too, and label it private to the owner and untrusted before the model sees it."""
        text, findings = ctx.scanner.redact(message, generic=True)
        label = self._labeller(spec, call.args, text, now, ctx.owner_principals)
        conf = Conf.SECRET if findings and self._secret_taints else Conf.PRIVATE
        label = label.join(Label.of(Integrity.UNTRUSTED, conf, ctx.owner_principals))
        ctx.context.append(LabelledResult(text, label))
        return GatewayResult(
            GatewayStatus.ERROR, call.call_id, spec.name, text, decision, label=label, secrets_redacted=len(findings)
        )


def _echoed(decision: Decision, args: Mapping[str, Any], content: Any) -> Label:
    """A write's result that echoes an argument (the appended file, the event with its description)
    keeps that argument's label: an instruction carried through it is still untrusted when read back."""
    text = normalise(content_text(content))
    out = Label.clean()
    for name, prov in decision.provenance.items():
        if prov.label.integrity >= Integrity.OWNER:
            continue
        if any(len(a) >= 3 and a in text for a in atoms(args.get(name))):
            out = out.join(prov.label)
    return out


def names_source(decision: Decision, args: Mapping[str, Any]) -> bool:
    """The owner's words chose what this read returns: every argument is the owner's (typed, from the
    contacts, or itself read from a source the owner named) and distinctive (a name, an address, a
    date, not a word of two letters). A read with no argument (the whole inbox) names nothing. The
    caller also requires that the owner asked to act (``intent``) and that the result holds nothing
    stored from elsewhere (a memory carrying the label of the mail it came from)."""
    if not args:
        return False
    for name, value in args.items():
        prov = decision.provenance.get(name)
        leaves = list(atoms(value))
        if prov is None or not prov.owner or prov.origin is Origin.SERVICE_RECORD:
            return False
        if not leaves or any(len(a) < _DISTINCT for a in leaves):
            return False
    return True


_DISTINCT = 3


def _named_by(args: Mapping[str, Any]) -> list[str]:
    return [a for v in args.values() for a in atoms(v)]


def contained_read(spec: ToolSpec) -> bool:
    """A read whose arguments go nowhere outside Aegis: nothing is lost if its audit row fails."""
    return spec.cls is ToolClass.READ and not spec.third_party and spec.url_arg is None


def _number(v: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    try:
        return float(str(v).replace(",", "").lstrip("$"))
    except ValueError:
        return 0.0
