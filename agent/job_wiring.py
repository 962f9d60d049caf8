"""Adapters from the scheduler's ports to the running agent: integration status from the MCP host,
sync through the gateway under the job's own token, briefing sections from read tools."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from agent.gateway import ToolGateway
from agent.gateway.gateway import AuditSink, GatewayStatus
from agent.gateway.policy import Policy, PolicyContext
from agent.gateway.policy import ToolCall as GatewayCall
from agent.jobs import Balance, CalendarEvent, IntegrationCheck, JobError, MailItem, Transaction
from agent.mcp_host import McpHost
from agent.toolrunner import TOOL_SCOPES, McpExecutor
from storage.audit import AuditEvent

SERVER_OF = {"mail": "gmail", "finance": "plaid"}


class _Fixed:
    """The job's exchanged token, used for every call of that run."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, audience: str, scope: str, resource: str) -> str:
        return self._token


@dataclass
class HostIntegrations:
    host: McpHost

    async def check(self, name: str) -> IntegrationCheck:
        server = SERVER_OF.get(name)
        if server is None:
            return IntegrationCheck(False, f"integration not connected: {name} (not built yet)")
        state = self.host.status().get(server)
        if not state or not state["up"]:
            error = state.get("error") if state else None
            return IntegrationCheck(False, f"integration not connected: {name} ({error or 'server not running'})")
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

    async def call(self, tool: str, args: dict[str, Any], *, session: str, token: str | None = None) -> Any:
        executor = McpExecutor(self.host, _Fixed(token) if token else self.tokens)
        gateway = ToolGateway(policy=self.policy, approvals=self.approvals, executor=executor, audit=self.audit)
        result = await gateway.call(GatewayCall(f"job-{uuid.uuid4().hex[:12]}", tool, args), self.context(session))
        if result.status is not GatewayStatus.OK:
            raise JobError(f"{tool} was {result.status.value}: " + "; ".join(result.decision.rule_ids))
        return result.content

    async def console_call(self, tool: str, args: dict[str, Any], *, actor: str = "admin") -> Any:
        """An owner action from the console (connecting a bank, say): ADMIN tools the model may never
        call. It skips the model policy but not the call token, and it is audited."""
        server, _, name = tool.partition(".")
        scope = TOOL_SCOPES.get(tool)
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

    async def sync(self, integration: str, job_token: str) -> dict[str, Any]:
        server = SERVER_OF.get(integration)
        if server is None:
            raise JobError(f"no sync tool for {integration}")
        out = await self.call(f"{server}.sync", {}, session=f"job:sync_{integration}", token=job_token)
        return out if isinstance(out, dict) else {"result": str(out)[:200]}


def _money(v: Any) -> Decimal | None:
    try:
        return None if v is None else Decimal(str(v))
    except InvalidOperation:
        return None


@dataclass
class ToolBriefingSources:
    calls: GatewayCalls
    integrations: HostIntegrations

    async def _connected(self, name: str) -> bool:
        return (await self.integrations.check(name)).connected

    async def calendar(self, day: date) -> Sequence[CalendarEvent] | None:
        return None  # no calendar integration yet

    async def important_unread(self) -> Sequence[MailItem] | None:
        if not await self._connected("mail"):
            return None
        out = await self.calls.call(
            "gmail.search", {"query": "is:unread is:important", "limit": 10}, session="job:daily_briefing"
        )
        items = []
        for m in out.get("messages", []) if isinstance(out, dict) else []:
            try:
                when = datetime.fromisoformat(str(m.get("date"))) if m.get("date") else datetime.now(UTC)
            except ValueError:
                when = datetime.now(UTC)
            items.append(MailItem(str(m.get("from", "")), str(m.get("subject", "")), when))
        return items

    async def balances(self) -> Sequence[Balance] | None:
        if not await self._connected("finance"):
            return None
        out = await self.calls.call("plaid.balances", {}, session="job:daily_briefing")
        rows = []
        for a in out.get("accounts", []) if isinstance(out, dict) else []:
            amount = _money(a.get("current"))
            if amount is not None:
                rows.append(
                    Balance(
                        f"{a.get('name', '')} {a.get('mask') or ''}".strip(), amount, str(a.get("currency") or "USD")
                    )
                )
        return rows

    async def notable_transactions(self, since: datetime) -> Sequence[Transaction] | None:
        return None  # the Plaid server exposes totals, not individual transactions, to the agent


@dataclass
class ToolDigestSources:
    calls: GatewayCalls
    integrations: HostIntegrations

    async def productivity(self, start: date, end: date) -> dict[str, int | float | Decimal] | None:
        return None  # no calendar or task integration yet

    async def email(self, start: date, end: date) -> dict[str, int | float | Decimal] | None:
        if not (await self.integrations.check("mail")).connected:
            return None
        after, before = start.strftime("%Y/%m/%d"), end.strftime("%Y/%m/%d")
        got = await self.calls.call(
            "gmail.search", {"query": f"after:{after} before:{before}", "limit": 50}, session="job:weekly_digest"
        )
        unread = await self.calls.call(
            "gmail.search", {"query": f"is:unread after:{after}", "limit": 50}, session="job:weekly_digest"
        )
        return {"received": len(got.get("messages", [])), "unread": len(unread.get("messages", []))}

    async def finance(self, start: date, end: date) -> dict[str, int | float | Decimal] | None:
        if not (await self.integrations.check("finance")).connected:
            return None
        out = await self.calls.call(
            "plaid.spending_by_category",
            {"start_date": start.isoformat(), "end_date": end.isoformat()},
            session="job:weekly_digest",
        )
        totals = {str(c["category"]).lower(): _money(c["total"]) or Decimal(0) for c in out.get("categories", [])}
        return {"spent": sum(totals.values(), Decimal(0)), **{f"spent_{k}": v for k, v in totals.items()}}
