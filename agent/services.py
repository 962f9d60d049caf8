"""What the console needs from the agent, in one object built by the composition root."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from agent.approval_store import DbApprovalStore
from agent.chat import ChatService
from agent.content.ports import ContentService
from agent.conversations import ConversationStore
from agent.gateway import ToolGateway
from agent.gateway.approvals import ApprovalService, PendingApproval
from agent.gateway.gateway import GatewayResult, GatewayStatus
from agent.gateway.labels import Label, LabelledResult
from agent.gateway.policy import PolicyContext
from agent.gateway.policy import ToolCall as GatewayCall
from agent.job_wiring import GatewayCalls
from agent.jobs import BriefingStore, JobScheduler, NotificationFeed
from agent.jobs.ports import Notification, Notifier
from agent.mcp_host import McpHost
from agent.model_switch import ModelSettings, is_ready

ContextFor = Callable[[str], Awaitable[PolicyContext]]
log = structlog.get_logger("aegis.approvals")


class ApprovalFollower(Protocol):
    """Core code that asked for an approval and follows its card (the content engine's drafts):
    it may withdraw a card before it is approved, adds what the call was drawn from to the approved
    call's context, and learns the outcome. Each method ignores approvals it did not ask for."""

    async def before_approval(self, approval_id: str) -> None: ...

    async def context_labels(self, approval_id: str) -> Sequence[Label]: ...

    async def after_approval(self, approval_id: str, result: GatewayResult) -> None: ...

    async def after_rejection(self, approval_id: str) -> None: ...


@dataclass
class ApprovalDesk:
    """Approve runs the exact stored call through the gateway with a single-use grant bound to its
    arguments; reject records the reason. Both leave a note in the conversation."""

    approvals: ApprovalService
    store: DbApprovalStore
    gateway: ToolGateway
    context_for: ContextFor
    conversations: ConversationStore
    notifier: Notifier | None = None
    followers: list[ApprovalFollower] = field(default_factory=list)

    async def pending(self) -> list[PendingApproval]:
        return await self.store.list_pending()

    async def history(self, limit: int = 100) -> list[tuple[PendingApproval, dict[str, Any]]]:
        return await self.store.history(limit=limit)

    async def get(self, approval_id: str) -> PendingApproval | None:
        return await self.store.get(approval_id)

    async def approve(self, approval_id: str, *, step_up_done: bool) -> GatewayResult:
        for follower in self.followers:
            await follower.before_approval(approval_id)  # may withdraw it (its draft expired)
        grant = await self.approvals.approve(approval_id, step_up_done=step_up_done)
        pending = await self.store.get(approval_id)
        assert pending is not None
        args = await self.store.args_of(approval_id)
        ctx = await self.context_for(pending.session_id)
        for follower in self.followers:
            for label in await follower.context_labels(approval_id):
                ctx.context.append(LabelledResult("", label))
        result = await self.gateway.call(GatewayCall(pending.call_id, pending.tool, args), ctx, grant=grant)
        for follower in self.followers:
            try:
                await follower.after_approval(approval_id, result)
            except Exception:  # the call ran; its follower's record is logged, not retried
                log.exception("approval.follower_failed", approval_id=approval_id)
        outcome = "ran" if result.status is GatewayStatus.OK else f"was refused ({result.status.value})"
        await self.store.note(approval_id, f"approved; {outcome}")
        await self._note(pending, f"The owner approved {pending.tool}; it {outcome}.", result)
        await self._delivered(result)
        return result

    async def _delivered(self, result: GatewayResult) -> None:
        """An approved call that delivers something to the owner (``{"notify_owner": {"title",
        "body", "page"}}`` in its result, e.g. a grocery list) lands in the owner's notifications,
        and on the phone when push is set up, linking its console page."""
        out = result.content if result.status is GatewayStatus.OK and isinstance(result.content, dict) else {}
        note = out.get("notify_owner")
        if self.notifier is None or not isinstance(note, dict):
            return
        title, body, page = (str(note.get(k) or "")[:2000] for k in ("title", "body", "page"))
        try:
            await self.notifier.notify(Notification("delivery", title[:200], body, ref=page or None))
        except Exception:  # noqa: BLE001 - the delivery ran; the alert is best effort
            return

    async def reject(self, approval_id: str, reason: str) -> None:
        pending = await self.store.get(approval_id)
        await self.approvals.deny(approval_id)
        await self.store.note(approval_id, f"rejected: {reason}")
        for follower in self.followers:
            await follower.after_rejection(approval_id)
        if pending is not None:
            await self._note(pending, f"The owner rejected {pending.tool}: {reason}", None)

    async def _note(self, pending: PendingApproval, text: str, result: GatewayResult | None) -> None:
        if not pending.session_id:
            return
        body: dict[str, Any] = {"note": text}
        if result is not None:
            body["result"] = result.to_model()
        label = result.label.to_dict() if result is not None and result.label else None
        try:
            await self.conversations.append(
                pending.session_id,
                [{"role": "user", "content": f"[console] {json.dumps(body, default=str)}"}],
                [label],
            )
        except KeyError:
            return  # the call came from a job, not a conversation


@dataclass
class AgentServices:
    chat: ChatService
    conversations: ConversationStore
    approvals: ApprovalDesk
    host: McpHost
    calls: GatewayCalls | None = None  # read tools for console panels and jobs, through the gateway
    scheduler: JobScheduler | None = None
    briefings: BriefingStore | None = None
    notifier: NotificationFeed | None = None
    models: ModelSettings | None = None  # the console's Model page; None when the model is fixed (tests)
    content: ContentService | None = None  # the content engine's drafts (None: no network installed)

    @property
    def model_configured(self) -> bool:
        return is_ready(self.chat.model)
