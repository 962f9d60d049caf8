"""Adapters from the scheduler's ports to the running agent: integration status from the MCP host,
sync through the gateway under the job's own token, briefing and digest sections from the views
the installed integrations declare (the same views as the console's home panels)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from agent.gateway import ToolGateway
from agent.gateway.gateway import AuditSink, GatewayStatus
from agent.gateway.policy import Policy, PolicyContext
from agent.gateway.policy import ToolCall as GatewayCall
from agent.jobs import IntegrationCheck, JobError
from agent.jobs.briefing import Section
from agent.mcp_host import McpHost
from agent.toolrunner import McpExecutor
from integrations import Catalog, PlacedView
from integrations.views import render, resolve_args
from storage.audit import AuditEvent


class _Fixed:
    """The job's exchanged token, used for every call of that run."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, audience: str, scope: str, resource: str) -> str:
        return self._token


@dataclass
class HostIntegrations:
    """Is an installed integration's server up? (Connection itself is probed by the console.)"""

    host: McpHost
    catalog: Catalog

    async def check(self, name: str) -> IntegrationCheck:
        manifest = self.catalog.get(name)
        if manifest is None:
            return IntegrationCheck(False, f"{name} is not installed")
        state = self.host.status().get(manifest.server)
        if not state or not state["up"]:
            error = state.get("error") if state else None
            return IntegrationCheck(False, f"{error or 'server not running'}")
        return IntegrationCheck(True, "")


@dataclass
class GatewayCalls:
    """Runs tool calls for jobs and the console through the real gateway (audited like chat)."""

    host: McpHost
    policy: Policy
    approvals: Any
    audit: AuditSink
    context: Callable[[str], PolicyContext]
    tokens: Any
    catalog: Catalog

    @property
    def scopes(self) -> Mapping[str, str]:
        return self.catalog.tool_scopes

    async def call(self, tool: str, args: dict[str, Any], *, session: str, token: str | None = None) -> Any:
        executor = McpExecutor(self.host, _Fixed(token) if token else self.tokens, self.scopes)
        gateway = ToolGateway(policy=self.policy, approvals=self.approvals, executor=executor, audit=self.audit)
        result = await gateway.call(GatewayCall(f"job-{uuid.uuid4().hex[:12]}", tool, args), self.context(session))
        if result.status is not GatewayStatus.OK:
            detail = "; ".join(result.decision.rule_ids)
            if result.status is GatewayStatus.ERROR and isinstance(result.content, str):
                detail = result.content[:300]
            raise JobError(f"{tool} was {result.status.value}: {detail}")
        return result.content

    async def console_call(self, tool: str, args: dict[str, Any], *, actor: str = "admin") -> Any:
        """An owner action from the console (connecting a bank, say): ADMIN tools the model may never
        call. It skips the model policy but not the call token, and it is audited."""
        server, _, name = tool.partition(".")
        scope = self.scopes.get(tool)
        if scope is None:
            raise JobError(f"{tool} has no call scope configured")
        token = await self.tokens.token(f"mcp-{server}", scope, f"mcp:{server}")
        result = await self.host.call(server, name, args, meta={"aegis/token": token})
        await self.audit(
            AuditEvent(
                actor=actor, action="console.tool", result="error" if result.is_error else "allow", resource=tool
            )
        )
        if result.is_error:
            raise JobError("; ".join(getattr(c, "text", "") for c in result.content)[:300])
        return result.structured_content

    async def sync(self, integration: str, job_token: str, job_id: str) -> dict[str, Any]:
        member = next((m for m in self.catalog.jobs.get(job_id, ()) if m.integration == integration), None)
        if member is None:
            raise JobError(f"{integration} takes no part in {job_id}")
        out = await self.call(member.tool, {}, session=f"job:{job_id}", token=job_token)
        return out if isinstance(out, dict) else {"result": str(out)[:200]}


@dataclass
class ViewSections:
    """Briefing and digest sections from the installed integrations' declared views, read through
    the gateway like any other tool call (session ``job:daily_briefing`` / ``job:weekly_digest``)."""

    calls: GatewayCalls
    integrations: HostIntegrations
    goals: Mapping[str, float] = field(default_factory=dict)  # the owner's goals ($goal:<name> view args)

    async def sections(self, kind: str, start: date, end: date) -> list[Section]:
        catalog = self.calls.catalog
        views = catalog.briefing() if kind == "daily" else catalog.digest()
        session = "job:daily_briefing" if kind == "daily" else "job:weekly_digest"
        return [await self._one(v, end, session) for v in views]

    async def _one(self, placed: PlacedView, day: date, session: str) -> Section:
        view = placed.view
        key = f"{placed.integration}.{view.id}"
        manifest = self.calls.catalog.get(placed.integration)
        if manifest is None or not (await self.integrations.check(placed.integration)).connected:
            return Section(key, view.title, "not connected")
        try:
            probe = await self.calls.call(manifest.connect.probe, {}, session=session)
            if not manifest.connect.is_connected(probe):
                return Section(key, view.title, "not connected")
            out = await self.calls.call(view.tool, resolve_args(view.args, day, self.goals), session=session)
        except JobError as exc:
            status = "not connected" if "reconnect" in str(exc) or "unknown_secret" in str(exc) else "unavailable"
            return Section(key, view.title, status)
        data = render(view.render, out)
        lines = data.lines() or [data.empty]
        return Section(key, view.title, "ok", lines, dict(data.figures))
