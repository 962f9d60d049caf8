"""Adapters from the scheduler's ports to the running agent: integration status from the MCP host,
sync through the gateway under the job's own token, briefing and digest sections from the views
the installed integrations declare (the same views as the console's home panels)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from agent.gateway import Label, LabelledResult, ToolGateway
from agent.gateway.gateway import AuditSink, GatewayResult, GatewayStatus
from agent.gateway.policy import Policy, PolicyContext
from agent.gateway.policy import ToolCall as GatewayCall
from agent.jobs import IntegrationCheck, JobError
from agent.jobs.briefing import Section
from agent.jobs.networth import NetWorthBook
from agent.mcp_host import McpHost
from agent.toolrunner import ArgStage, McpExecutor
from integrations import Catalog, PlacedView, fit, money, prep
from integrations.manifest import Provides, View
from integrations.merged import failure_line, merge
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

    async def _run(
        self,
        tool: str,
        args: dict[str, Any],
        *,
        session: str,
        token: str | None,
        call_id: str | None = None,
        labels: Sequence[Label] = (),
        request: str | None = None,
    ) -> GatewayResult:
        executor = McpExecutor(self.host, _Fixed(token) if token else self.tokens, self.scopes)
        gateway = ToolGateway(policy=self.policy, approvals=self.approvals, executor=executor, audit=self.audit)
        call = GatewayCall(call_id or f"job-{uuid.uuid4().hex[:12]}", tool, args)
        ctx = self.context(session)
        if request is not None:  # the owner's own action that asks (a Publish button), for the card
            ctx.original_request = request
        for label in labels:  # what the call's arguments were drawn from: the policy sees it all
            ctx.context.append(LabelledResult("", label))
        return await gateway.call(call, ctx)

    async def call(self, tool: str, args: dict[str, Any], *, session: str, token: str | None = None) -> Any:
        return (await self.read(tool, args, session=session, token=token))[0]

    async def read(
        self, tool: str, args: dict[str, Any], *, session: str, token: str | None = None
    ) -> tuple[Any, Label | None]:
        """A call's (redacted) result with the label the gateway gave it: its provenance."""
        result = await self._run(tool, args, session=session, token=token)
        if result.status is not GatewayStatus.OK:
            detail = "; ".join(result.decision.rule_ids)
            if result.status is GatewayStatus.ERROR and isinstance(result.content, str):
                detail = result.content[:300]
            raise JobError(f"{tool} was {result.status.value}: {detail}")
        return result.content, result.label

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
        session = f"job:{job_id}"
        manifest = self.catalog.get(integration)
        job = next((j for j in manifest.jobs if j.job == job_id), None) if manifest else None
        args, missing = await self._inputs(job.inputs if job else {}, session=session)
        out = await self.call(member.tool, args, session=session, token=job_token)
        if not isinstance(out, dict):
            return {"result": str(out)[:200]}
        proposal = out.pop("propose", None)
        if proposal is not None:
            out["approval"] = await self._propose(integration, proposal, session=session, token=job_token)
        if missing:
            out["without"] = ",".join(missing)
        return out

    async def _inputs(self, wanted: Mapping[str, str], *, session: str) -> tuple[dict[str, Any], list[str]]:
        """The figures a job's tool takes from other integrations (``inputs`` in its manifest), each
        read through the gateway from the installed integration that ``provides`` it. A figure no
        installed integration provides, or one that cannot be read now, is left out (and named)."""
        args: dict[str, Any] = {}
        missing: list[str] = []
        today = datetime.now(UTC).date()
        for arg, figure in wanted.items():
            answers: list[tuple[Provides, Any]] = []
            for _, source in self.catalog.providers(figure):
                try:
                    result = await self.call(source.tool, resolve_args(source.args, today), session=session)
                except JobError:
                    continue  # a provider that cannot be read now does not stop the others
                answers.append((source, result))
            value = combine_figures(answers)
            if value is None:
                missing.append(figure)
            else:
                args[arg] = value
        return args, missing

    async def _propose(self, integration: str, proposal: Any, *, session: str, token: str) -> str:
        """A job's tool may propose one side effect of its own integration for the owner to approve
        (``{"propose": {"tool", "args"}}``, e.g. a grocery list to deliver). It goes through the
        gateway like any call; the job's grant must hold its scope. Held for approval, the owner is
        notified and the run records the approval id; the policy allowing it outright is refused,
        since a proposal exists to be approved."""
        tool = proposal.get("tool") if isinstance(proposal, dict) else None
        args = proposal.get("args") if isinstance(proposal, dict) else None
        if not isinstance(tool, str) or not tool.startswith(f"{integration}.") or not isinstance(args, dict):
            raise JobError(f"{integration} proposed something that is not one of its own tools")
        return await self.hold(tool, args, session=session, token=token)

    async def hold(
        self,
        tool: str,
        args: dict[str, Any],
        *,
        session: str,
        token: str | None = None,
        labels: Sequence[Label] = (),
        request: str | None = None,
    ) -> str:
        """Ask for an always-approve call (a post, a delivery) through the gateway, in a context
        holding ``labels`` (what its arguments were drawn from): the approval id of its card. The
        exact arguments are kept for the card; the policy allowing it outright is refused."""
        spec = self.context(session).registry.spec(tool)
        if spec is None or not spec.always_approve:
            raise JobError(f"{tool} is proposed for approval but its registry entry does not always ask")
        store = getattr(self.approvals, "store", None)  # it keeps the exact arguments for the card
        stage = store if isinstance(store, ArgStage) else None
        call_id = f"job-{uuid.uuid4().hex[:12]}"
        if stage is not None:
            stage.stage(call_id, args)
        try:
            result = await self._run(
                tool, args, session=session, token=token, call_id=call_id, labels=labels, request=request
            )
        finally:
            if stage is not None:
                stage.unstage(call_id)
        if result.status is GatewayStatus.APPROVAL_REQUIRED and result.approval is not None:
            return result.approval.approval_id
        reason = result.content if result.status is GatewayStatus.DENIED and isinstance(result.content, str) else ""
        raise JobError(
            f"{tool} was {result.status.value}, not held for approval: {'; '.join(result.decision.rule_ids)}"
            + (f" ({reason[:200]})" if reason else "")
        )


def _elements(source: Provides, result: Any) -> list[tuple[str, float]]:
    """The numeric ``value`` of each element of the result's ``list``, with its ``key`` (or position)."""
    raw = result.get(source.list) if isinstance(result, Mapping) else None
    out: list[tuple[str, float]] = []
    for i, e in enumerate(raw if isinstance(raw, list) else []):
        v = e.get(source.value) if isinstance(e, Mapping) else None
        if isinstance(v, int | float) and not isinstance(v, bool):
            out.append((str(e.get(source.key, i)) if source.key else str(i), float(v)))
    return out


def _reduce(how: str, values: list[float]) -> float | None:
    if not values:
        return None
    if how == "sum":
        return round(sum(values), 2)
    if how == "last":
        return values[-1]
    return round(sum(values) / len(values), 2)


def reduce_figure(source: Provides, result: Any) -> float | None:
    """One number from a provider's result: the mean, sum or last of the numeric ``value`` of each
    element of its ``list``; ``None`` when there is none (no data is not zero)."""
    return _reduce(source.reduce, [v for _, v in _elements(source, result)])


def combine_figures(answers: Sequence[tuple[Provides, Any]]) -> float | None:
    """One number from every provider that answered. When they name a ``key`` (a day), elements with
    the same key are one: the larger value is kept (two devices counting the same activity are not
    added), then the keys' values are reduced in key order by the first provider's rule. Otherwise
    the first provider with a figure gives it."""
    keyed = [(s, r) for s, r in answers if s.key]
    if not keyed:
        return next((v for s, r in answers if (v := reduce_figure(s, r)) is not None), None)
    per: dict[str, float] = {}
    for source, result in keyed:
        for k, v in _elements(source, result):
            per[k] = max(per.get(k, v), v)
    return _reduce(keyed[0][0].reduce, [per[k] for k in sorted(per)])


def _core_section(view: View, found: Mapping[str, Any], failed: Sequence[tuple[str, str]]) -> Section:
    """A section the core computed across sources: a line per failed source, then the items."""
    data = render(view.render, found)
    lines = [*(failure_line(t, e) for t, e in failed), *data.lines()] or [data.empty]
    return Section(f"core.{view.id}", view.title, "ok", lines, dict(data.figures))


def worth_call(calls: GatewayCalls, session: str) -> money.Call:
    """Reads for the net worth (:mod:`integrations.money`) through the gateway as ``session``; a
    failed read is the source's failure, shown as missing."""

    async def call(tool: str, args: dict[str, Any]) -> Any:
        try:
            return await calls.call(tool, args, session=session)
        except JobError as exc:
            raise money.SourceFailed(str(exc)) from exc

    return call


@dataclass
class ViewSections:
    """Briefing and digest sections from the installed integrations' declared views, read through
    the gateway like any other tool call (session ``job:daily_briefing`` / ``job:weekly_digest``)."""

    calls: GatewayCalls
    integrations: HostIntegrations
    goals: Mapping[str, float] = field(default_factory=dict)  # the owner's goals ($goal:<name> view args)
    worth: NetWorthBook | None = None  # the net worth snapshots (integrations.money)

    async def sections(self, kind: str, start: date, end: date) -> list[Section]:
        catalog = self.calls.catalog
        views = catalog.briefing() if kind == "daily" else catalog.digest()
        session = "job:daily_briefing" if kind == "daily" else "job:weekly_digest"
        return [await self._one(v, end, session) for v in views]

    async def _sources(self, pairs: list[tuple[str, str]]) -> list[prep.Source]:
        """The connected ones of ``(integration, tool)`` pairs, titled as the owner knows them."""
        out = []
        for name, tool in pairs:
            manifest = self.calls.catalog.get(name)
            if manifest is not None and (await self.integrations.check(name)).connected:
                out.append(prep.Source(manifest.title, tool))
        return out

    def _source_call(self, session: str) -> prep.Call:
        """A tool call through the gateway whose failure is a source's line (prep.SourceFailed)."""

        async def call(tool: str, args: dict[str, Any]) -> Any:
            try:
                return await self.calls.call(tool, args, session=session)
            except JobError as exc:
                raise prep.SourceFailed(str(exc)) from exc

        return call

    async def _prep(self, placed: PlacedView, day: date, session: str) -> Section:
        """Meeting prep: every calendar's meetings with the threads from every mailbox (integrations.prep)."""
        catalog, view, call = self.calls.catalog, placed.view, self._source_call(session)
        calendars = await self._sources(catalog.meeting_sources())
        found, failed = await prep.meetings(calendars, await self._sources(catalog.thread_sources()), call, day)
        return _core_section(view, found, failed)

    async def _fit(self, placed: PlacedView, day: date, session: str) -> Section:
        """Events to attend, each checked against every calendar (integrations.fit)."""
        catalog, view, call = self.calls.catalog, placed.view, self._source_call(session)
        finders = await self._sources(catalog.suggestion_sources())
        found, failed = await fit.events_fit(finders, await self._sources(catalog.meeting_sources()), call, day)
        return _core_section(view, found, failed)

    async def _worth(self, placed: PlacedView, day: date, session: str) -> Section:
        """The net worth from the day's snapshot (the one the console shows), with its changes."""
        key, title = f"core.{placed.view.id}", placed.view.title
        if self.worth is None:
            return Section(key, title, "unavailable")
        snapshots = await self.worth.ensure(day, worth_call(self.calls, session))
        if not snapshots:
            return Section(key, title, "not connected")
        lines, figures = money.lines(snapshots, self.worth.sources)
        return Section(key, title, "ok", lines, figures)

    async def _merged(self, placed: PlacedView, day: date, session: str) -> Section:
        """A section the core merges across integrations; a source that fails is a line saying so."""
        assert placed.merged is not None
        if placed.view.id == prep.VIEW.id:
            return await self._prep(placed, day, session)
        if placed.view.id == fit.VIEW.id:
            return await self._fit(placed, day, session)
        if placed.view.id == money.VIEW_ID:
            return await self._worth(placed, day, session)
        view, spec, parts, failed = placed.view, placed.merged, [], []
        args = resolve_args(view.args, day, self.goals)
        for name, tool in spec.sources:
            manifest = self.calls.catalog.get(name)
            if manifest is None or not (await self.integrations.check(name)).connected:
                continue
            try:
                parts.append((manifest, await self.calls.call(tool, spec.tool_args(args), session=session)))
            except JobError as exc:
                failed.append(failure_line(manifest.title, str(exc)))
        data = render(view.render, spec.combine(parts, args))
        lines = [*failed, *data.lines()] or [data.empty]
        return Section(f"core.{view.id}", view.title, "ok", lines, dict(data.figures))

    async def _one(self, placed: PlacedView, day: date, session: str) -> Section:
        if placed.merged is not None:
            return await self._merged(placed, day, session)
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


@dataclass
class MergedDeadlines:
    """Every deadline-declaring integration's deadlines, through the gateway (session
    ``job:deadline_reminders``); a source whose server is down or that fails is left out this run."""

    calls: GatewayCalls
    integrations: HostIntegrations

    async def deadlines(self, start: date, end: date) -> list[Mapping[str, Any]] | None:
        sources = self.calls.catalog.deadline_sources()
        if not sources:
            return None
        parts = []
        for name, tool in sources:
            manifest = self.calls.catalog.get(name)
            if manifest is None or not (await self.integrations.check(name)).connected:
                continue
            args = {"start": start.isoformat(), "end": end.isoformat()}
            try:
                parts.append((manifest.title, await self.calls.call(tool, args, session="job:deadline_reminders")))
            except JobError:
                continue
        return list(merge("assignments", parts, sort_key="due_at")["assignments"])
