"""Wiring for one run: the registry with pinned (and tampered) tool definitions, a simulated MCP
host, the gateway that records its decisions, and the tool runner that plays the approver."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mcp.types import Tool

from agent.adversarial.approvers import Approver
from agent.adversarial.cases import Case
from agent.adversarial.catalog import baseline_defs
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
    advertised: list[tuple[str, Tool]]
    status: dict[str, str]  # qualified name -> pin status after the servers listed their tools
    server_texts: frozenset[str]  # every server-written description (must never reach the model)


SetupCache = dict[tuple[Any, ...], ToolSetup]


def setup_tools(
    registry_data: Mapping[str, Any], case: Case, config: Config, cache: SetupCache | None = None
) -> ToolSetup:
    """The operator pins the reviewed definitions; then each server lists its (possibly changed)
    tools and the registry checks them, as the host does on every ``tools/list``.

    Runs never change a registry once set up, so a ``cache`` may share one between runs that
    present the same definitions (cases without tool overrides, same pin-check setting).
    """
    key = (case.id if case.tools else "", config.pin_check)
    if cache is not None and key in cache:
        return cache[key]
    out = _setup(registry_data, case, config)
    if cache is not None:
        cache[key] = out
    return out


def _setup(registry_data: Mapping[str, Any], case: Case, config: Config) -> ToolSetup:
    registry = Registry.from_dict(registry_data)
    reviewed = baseline_defs()
    current = {s: list(d) for s, d in reviewed.items()}
    status: dict[str, str] = {}

    def put(defs: dict[str, list[ToolDef]], server: str, d: ToolDef) -> None:
        defs[server] = [x for x in defs.get(server, []) if x.name != d.name] + [d]

    for o in case.tools:
        d = ToolDef(o.name, o.description, dict(o.schema))
        if o.mode == "pinned":
            put(reviewed, o.server, d)
        put(current, o.server, d)
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
    advertised = [
        (s, Tool(name=d.name, description=d.description, input_schema=dict(d.input_schema)))
        for s, defs in current.items()
        for d in defs
    ]
    texts = frozenset(d.description for defs in current.values() for d in defs)
    return ToolSetup(registry, advertised, status, texts)


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
