"""Tool calls from the loop go through the gateway; allowed ones reach the MCP servers with a
per-call broker token (audience = the server, scope = the tool's)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from agent.gateway import ContextLabel, Label, LabelledResult, ToolDef, ToolGateway
from agent.gateway.gateway import ExecRequest, GatewayStatus, ToolFailed
from agent.gateway.policy import PolicyContext
from agent.gateway.policy import ToolCall as GatewayCall
from agent.gateway.registry import Registry
from agent.loop import ToolOutcome
from agent.mcp_host import McpHost, ServerUnavailable
from agent.model import ToolCall, ToolSpec

# The broker scope each tool's call token carries; a tool missing here cannot be executed.
TOOL_SCOPES: Mapping[str, str] = {
    "gmail.sync": "mail.read",
    "gmail.search": "mail.read",
    "gmail.read_thread": "mail.read",
    "gmail.list_labels": "mail.read",
    "gmail.draft_reply": "mail.draft",
    "gmail.send": "mail.send",
    "gmail.disconnect": "mail.link",
    "plaid.sync": "finance.read",
    "plaid.balances": "finance.read",
    "plaid.spending_by_category": "finance.read",
    "plaid.create_link_token": "finance.link",
    "plaid.exchange_public_token": "finance.link",
    "plaid.sandbox_connect": "finance.link",
    "plaid.disconnect": "finance.link",
    "memory.read": "memory.read",
    "memory.write": "memory.write",
    "memory.browse": "memory.admin",
    "memory.history": "memory.admin",
    "memory.confirm": "memory.admin",
    "memory.edit": "memory.admin",
    "memory.forget": "memory.admin",
}


class TokenSource(Protocol):
    async def token(self, audience: str, scope: str, resource: str) -> str: ...


class McpExecutor:
    """The gateway's executor: runs an allowed call on its MCP server."""

    def __init__(self, host: McpHost, tokens: TokenSource) -> None:
        self._host = host
        self._tokens = tokens

    async def __call__(self, req: ExecRequest) -> Any:
        name = f"{req.server}.{req.spec.tool}"
        scope = TOOL_SCOPES.get(name)
        if scope is None:
            raise ToolFailed(f"{name} has no call scope configured")
        token = await self._tokens.token(f"mcp-{req.server}", scope, f"mcp:{req.server}")
        meta: dict[str, Any] = {"aegis/token": token, "aegis/call": req.call.call_id}
        if req.spec.persists_label:
            meta["aegis/label"] = req.label.to_dict()  # stored with the data, so taint survives storage
        try:
            result = await self._host.call(req.server, req.spec.tool, dict(req.call.args), meta=meta)
        except ServerUnavailable as exc:
            raise ToolFailed(str(exc)) from None
        text = "\n".join(getattr(c, "text", "") for c in result.content)
        if result.is_error:
            raise ToolFailed(text or f"{name} failed")
        return result.structured_content if result.structured_content is not None else text


def refresh_pins(registry: Registry, host: McpHost) -> dict[str, str]:
    """Check every live tool definition against the registry; returns tool -> status."""
    status: dict[str, str] = {}
    by_server: dict[str, list[ToolDef]] = {}
    for server, tool in host.tools():
        ann = tool.annotations.model_dump(exclude_none=True) if tool.annotations else None
        by_server.setdefault(server, []).append(ToolDef(tool.name, tool.description or "", tool.input_schema, ann))
    for server, defs in by_server.items():
        report = registry.check(server, defs)
        status.update({f"{server}.{k}": v.value for k, v in report.status.items()})
    return status


def context_from_history(labels: Sequence[dict[str, Any] | None], owner: str = "owner") -> ContextLabel:
    """Rebuild a conversation's taint from the labels stored with its messages."""
    ctx = ContextLabel(owner=owner)
    for raw in labels:
        if raw:
            ctx.append(LabelledResult("", Label.from_dict(raw)))
    return ctx


class ArgStage(Protocol):
    def stage(self, call_id: str, args: dict[str, Any]) -> None: ...

    def unstage(self, call_id: str) -> None: ...


class GatewayToolRunner:
    def __init__(self, gateway: ToolGateway, ctx: PolicyContext, host: McpHost, stage: ArgStage | None = None) -> None:
        self.gateway = gateway
        self.ctx = ctx
        self._host = host
        self._stage = stage

    def specs(self) -> Sequence[ToolSpec]:
        live = {f"{s}__{t.name}" for s, t in self._host.tools()}
        return [
            ToolSpec(t.name, t.description, dict(t.input_schema))
            for t in self.ctx.registry.model_tools()
            if t.name in live
        ]

    async def run(self, call: ToolCall) -> ToolOutcome:
        if self._stage is not None:  # an approval card may be created: keep the exact arguments
            self._stage.stage(call.id, call.input)
        try:
            result = await self.gateway.call(GatewayCall(call.id, call.name, call.input), self.ctx)
        finally:
            if self._stage is not None:
                self._stage.unstage(call.id)
        meta: dict[str, Any] = {
            "status": result.status.value,
            "tool": result.tool,
            "rules": list(result.decision.rule_ids),
            "label": result.label.to_dict() if result.label else None,
        }
        if result.approval is not None:
            meta["approval_id"] = result.approval.approval_id
        return ToolOutcome(
            json.dumps(result.to_model(), default=str), is_error=result.status is not GatewayStatus.OK, meta=meta
        )
