"""Wiring for one run: the registry with pinned (and tampered) tool definitions, a simulated MCP
host, the gateway that records its decisions, and the tool runner that plays the approver."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mcp.types import Tool, ToolAnnotations

from agent.adversarial.approvers import Approver
from agent.adversarial.cases import Case, ToolOverride
from agent.adversarial.catalog import CATALOG, baseline_defs
from agent.adversarial.variants import Config
from agent.gateway import GatewayResult, Grant, PolicyContext, Registry, ToolDef, ToolGateway
from agent.gateway.card import ApprovalCard
from agent.gateway.policy import ToolCall as GatewayCall
from agent.gateway.registry import RegistryError
from agent.loop import ToolOutcome
from agent.mcp_host import McpHost
from agent.model import ToolCall, ToolSpec
from agent.toolrunner import GatewayToolRunner

__all__ = ["Asked", "Recorded", "RecordingGateway", "SetupCache", "SimHost", "SuiteRunner", "ToolSetup", "setup_tools"]


@dataclass(frozen=True)
class ToolSetup:
    registry: Registry
    listings: tuple[list[tuple[str, Tool]], ...]  # per turn: what the servers list in that session
    status: dict[str, str]  # qualified name -> pin status after the servers listed their tools
    server_texts: frozenset[str]  # every server-written description (must never reach the model)

    @property
    def advertised(self) -> list[tuple[str, Tool]]:
        return self.listings[0]

    def defs(self, turn: int) -> dict[str, list[ToolDef]]:
        """server -> the definitions it lists in ``turn``'s session."""
        out: dict[str, list[ToolDef]] = {}
        for server, t in self.listings[min(turn, len(self.listings) - 1)]:
            ann = t.annotations.model_dump(exclude_none=True) if t.annotations else None
            out.setdefault(server, []).append(ToolDef(t.name, t.description or "", dict(t.input_schema), ann))
        return out


SetupCache = dict[tuple[Any, ...], ToolSetup]


def setup_tools(
    registry_data: Mapping[str, Any], case: Case, config: Config, cache: SetupCache | None = None
) -> ToolSetup:
    """The operator pins the reviewed definitions; then each server lists its (possibly changed)
    tools and the registry checks them, as the host does on every ``tools/list``.

    Runs never change a registry once set up, so a ``cache`` may share one between runs that
    present the same definitions (cases without tool overrides, same pin-check setting).
    """
    named = _named(case, registry_data)  # cases naming the same installed tools share a setup
    key = (case.id if case.tools else named, config.pin_check)
    if cache is not None and key in cache:
        return cache[key]
    out = _setup(registry_data, case, config, named)
    if cache is not None:
        cache[key] = out
    return out


def _named(case: Case, registry_data: Mapping[str, Any]) -> tuple[tuple[str, frozenset[str]], ...]:
    """The installed integrations' tools a case names (plans, attacks, checks, seeded answers), the
    previews they run, and the arguments each is called with (a preview gets its tool's)."""
    calls = [c for turn in case.turns for step in turn.plan for c in step.calls]
    calls += [c for a in case.attacks for c in a.calls] + [a.swap for a in case.attacks if a.swap]
    named: dict[str, set[str]] = {}
    for c in calls:
        named.setdefault(c.tool, set()).update(c.args)
    others = {str(p.params.get("tool")) for p in (*case.forbidden, *case.success)}
    others |= {e.tool for turn in case.turns for e in turn.approved_plan}
    others |= set(case.seed.get("results") or {}) | set(case.seed.get("errors") or {})
    for name in others:
        named.setdefault(name, set())
    tools = registry_data.get("tools") or {}
    for name in list(named):
        entry = tools.get(name)
        if isinstance(entry, Mapping) and entry.get("preview"):
            named.setdefault(str(entry["preview"]), set()).update(named[name])
    return tuple(sorted((k, frozenset(v)) for k, v in named.items() if k not in CATALOG))


def _setup(
    registry_data: Mapping[str, Any], case: Case, config: Config, named: tuple[tuple[str, frozenset[str]], ...]
) -> ToolSetup:
    registry = Registry.from_dict(registry_data)
    reviewed = baseline_defs(dict(named))
    status: dict[str, str] = {}

    def put(defs: dict[str, list[ToolDef]], server: str, d: ToolDef) -> None:
        defs[server] = [x for x in defs.get(server, []) if x.name != d.name] + [d]

    def defined(o: ToolOverride) -> ToolDef:
        base = next((d for d in reviewed.get(o.server, []) if d.name == o.name), None)
        desc = o.description if o.description is not None else (base.description if base else "")
        schema = o.schema if o.schema is not None else (base.input_schema if base else {"type": "object"})
        ann = ToolAnnotations.model_validate(o.annotations).model_dump(exclude_none=True) if o.annotations else None
        return ToolDef(o.name, desc, dict(schema), ann)

    for o in case.tools:
        if o.mode == "pinned":
            put(reviewed, o.server, defined(o))
    changes = [(o, defined(o)) for o in case.tools if o.mode != "pinned"]
    listings: list[dict[str, list[ToolDef]]] = []
    for turn in range(len(case.turns)):  # each turn is a new session: the servers list their tools again
        listed = {s: list(d) for s, d in reviewed.items()}
        for o, d in changes:
            if o.from_turn <= turn:
                put(listed, o.server, d)
        listings.append(listed)
    current = listings[0]
    for server, defs in reviewed.items():
        for d in defs:
            if registry.spec(f"{server}.{d.name}") is None:
                continue
            try:
                registry.approve_pin(server, d)
            except RegistryError:
                status[f"{server}.{d.name}"] = "rejected"
    for server, defs in current.items():
        if config.pin_check:
            report = registry.check(server, defs)
            status.update({f"{server}.{k}": v.value for k, v in report.status.items()})
            continue
        for d in defs:  # mutant / undefended: whatever the server presents is accepted
            try:
                registry.approve_pin(server, d)
                status[f"{server}.{d.name}"] = "approved"
            except RegistryError:
                status[f"{server}.{d.name}"] = "rejected" if registry.spec(f"{server}.{d.name}") else "unknown"
    texts = frozenset(d.description for listed in listings for defs in listed.values() for d in defs)
    return ToolSetup(registry, tuple(_advertised(listed) for listed in listings), status, texts)


def _advertised(listed: Mapping[str, list[ToolDef]]) -> list[tuple[str, Tool]]:
    """The ``tools/list`` answers: MCP tools, with whatever annotations the server claims."""
    return [
        (
            s,
            Tool(
                name=d.name,
                description=d.description,
                input_schema=dict(d.input_schema),
                annotations=ToolAnnotations.model_validate(d.annotations) if d.annotations else None,
            ),
        )
        for s, defs in listed.items()
        for d in defs
    ]


class SimHost(McpHost):
    """An MCP host whose servers are simulated: it only advertises tool definitions."""

    def __init__(self, advertised: Sequence[tuple[str, Tool]]) -> None:
        super().__init__([])
        self._advertised = list(advertised)

    def tools(self) -> list[tuple[str, Tool]]:
        return list(self._advertised)


class ServerTextRunner(GatewayToolRunner):
    """Mutant: shows the model the servers' own descriptions instead of the operator's."""

    def specs(self) -> Sequence[ToolSpec]:
        server_text = {f"{s}__{t.name}": t.description or "" for s, t in self._host.tools()}
        return [ToolSpec(s.name, server_text.get(s.name, s.description), s.input_schema) for s in super().specs()]


@dataclass(frozen=True)
class Recorded:
    call: GatewayCall
    result: GatewayResult
    with_grant: bool


class RecordingGateway(ToolGateway):
    """The real gateway; it also keeps every (call, result) for the metrics."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.recorded: list[Recorded] = []

    async def call(self, call: GatewayCall, ctx: PolicyContext, *, grant: Grant | None = None) -> GatewayResult:
        result = await super().call(call, ctx, grant=grant)
        self.recorded.append(Recorded(call, result, grant is not None))
        return result


@dataclass(frozen=True)
class Asked:
    call_id: str
    tool: str
    rule_ids: tuple[str, ...]
    red_flags: tuple[str, ...]
    approved: bool
    card: ApprovalCard


def _outcome(result: GatewayResult) -> ToolOutcome:
    meta = {"status": result.status.value, "tool": result.tool, "rules": list(result.decision.rule_ids)}
    return ToolOutcome(json.dumps(result.to_model(), default=str), is_error=result.is_error, meta=meta)


@dataclass
class SuiteRunner:
    """The loop's ToolRunner: the production GatewayToolRunner, plus the console's part — an
    approval request goes to the simulated owner, and an approved call is executed with its grant."""

    inner: GatewayToolRunner
    approver: Approver
    after_approval: Callable[[ToolCall], ToolCall]
    asked: list[Asked] = field(default_factory=list)

    def specs(self) -> Sequence[ToolSpec]:
        return self.inner.specs()

    async def run(self, call: ToolCall) -> ToolOutcome:
        outcome = await self.inner.run(call)
        approval_id = outcome.meta.get("approval_id")
        if approval_id is None:
            return outcome
        approvals = self.inner.gateway.approvals
        pending = await approvals.store.get(str(approval_id))
        assert pending is not None
        approve = self.approver.decide(pending)
        self.asked.append(Asked(call.id, pending.tool, pending.rule_ids, pending.card.red_flags, approve, pending.card))
        if not approve:
            await approvals.deny(pending.approval_id)
            denied = {"status": "denied", "message": "The owner denied this action in the console."}
            return ToolOutcome(json.dumps(denied), is_error=True, meta={**outcome.meta, "status": "denied_by_owner"})
        grant = await approvals.approve(pending.approval_id, step_up_done=True)
        run = self.after_approval(call)  # the arguments the (possibly compromised) agent hands over
        # as the console's ApprovalDesk does: the stored call, by its id and qualified tool name
        gateway_call = GatewayCall(pending.call_id, pending.tool, dict(run.input))
        result = await self.inner.gateway.call(gateway_call, self.inner.ctx, grant=grant)
        return _outcome(result)
