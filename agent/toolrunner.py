"""Tool calls from the loop go through the gateway; allowed ones reach the MCP servers with a
per-call broker token (audience = the server, scope = the tool's)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import httpx
import structlog
from mcp.types import Tool

from agent.gateway import ContextLabel, Label, LabelledResult, ToolDef, ToolGateway
from agent.gateway.gateway import ExecRequest, GatewayStatus, ToolFailed
from agent.gateway.policy import PolicyContext
from agent.gateway.policy import ToolCall as GatewayCall
from agent.gateway.registry import Registry, ToolStatus
from agent.loop import ToolOutcome
from agent.mcp_host import McpHost, ServerUnavailable
from agent.model import ToolCall, ToolSpec
from broker.client import BrokerClientError
from integrations import Catalog

log = structlog.get_logger("aegis.toolrunner")


class TokenSource(Protocol):
    async def token(self, audience: str, scope: str, resource: str) -> str: ...


BROKER_DOWN = "the credential broker is restarting; the call was not made, try again in a moment"


class McpExecutor:
    """The gateway's executor: runs an allowed call on its MCP server."""

    def __init__(self, host: McpHost, tokens: TokenSource, scopes: Mapping[str, str] | None = None) -> None:
        self._host = host
        self._tokens = tokens
        # The broker scope each tool's call token carries (from the manifests); a tool missing here cannot run.
        self._scopes = scopes if scopes is not None else Catalog.load().tool_scopes

    async def __call__(self, req: ExecRequest) -> Any:
        name = f"{req.server}.{req.spec.tool}"
        scope = self._scopes.get(name)
        if scope is None:
            raise ToolFailed(f"{name} has no call scope configured")
        try:
            token = await self._tokens.token(f"mcp-{req.server}", scope, f"mcp:{req.server}")
        except httpx.TransportError:  # the broker is down; its supervisor restarts it
            raise ToolFailed(BROKER_DOWN) from None
        except BrokerClientError as exc:
            if exc.status < 500:
                raise
            raise ToolFailed(BROKER_DOWN) from None  # sealed or failing
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


def _tool_def(tool: Tool) -> ToolDef:
    ann = tool.annotations.model_dump(exclude_none=True) if tool.annotations else None
    return ToolDef(tool.name, tool.description or "", tool.input_schema, ann)


def pin_checker(registry: Registry) -> Callable[[str, list[Tool]], None]:
    """The host's ``on_tools`` hook: every listing of a server's tools re-checks their pins."""

    def check(server: str, tools: list[Tool]) -> None:
        report = registry.check(server, [_tool_def(t) for t in tools])
        changed = report.names(ToolStatus.CHANGED) + report.names(ToolStatus.REJECTED)
        if changed:
            log.warning("mcp tools refused until re-approved", server=server, tools=changed)

    return check


def refresh_pins(registry: Registry, host: McpHost) -> dict[str, str]:
    """Check every live tool definition against the registry; returns tool -> status."""
    status: dict[str, str] = {}
    by_server: dict[str, list[ToolDef]] = {}
    for server, tool in host.tools():
        by_server.setdefault(server, []).append(_tool_def(tool))
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


@runtime_checkable
class ArgStage(Protocol):
    def stage(self, call_id: str, args: dict[str, Any]) -> None: ...

    def unstage(self, call_id: str) -> None: ...


class GatewayToolRunner:
    def __init__(self, gateway: ToolGateway, ctx: PolicyContext, host: McpHost, stage: ArgStage | None = None) -> None:
        self.gateway = gateway
        self.ctx = ctx
        self._host = host
        self._stage = stage
        refresh_pins(ctx.registry, host)  # a new session starts from the pins of what servers list now

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
