"""Approval records and grants.

A call that needs approval becomes a :class:`PendingApproval` (with its card). The console
approves it, which yields a :class:`Grant`: an HMAC over approval id, call id, tool, the sha256 of
the canonical JSON arguments, policy version, session, expiry and the step-up state. The gateway
re-verifies the grant against the exact call before executing: an argument swap, another tool,
another session, another policy version, a replay or an expired grant is refused.

Error tree::

    ApprovalError
    ├── UnknownApproval     no such approval
    ├── NotApprovable       not pending (already decided) or expired before approval
    ├── GrantInvalid        bad signature, or another call / tool / session / policy version
    ├── ArgsMismatch        the arguments are not the approved ones
    ├── GrantExpired
    ├── StepUpRequired      money / public post approved without the console step-up
    └── GrantReplayed       already used
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Protocol

import structlog

from agent.gateway.card import ApprovalCard
from agent.gateway.policy import Decision, ToolCall

log = structlog.get_logger("aegis.approvals")

__all__ = [
    "ApprovalError",
    "ApprovalService",
    "ApprovalState",
    "ApprovalStore",
    "ArgsMismatch",
    "Grant",
    "GrantExpired",
    "GrantInvalid",
    "GrantReplayed",
    "InMemoryApprovalStore",
    "NotApprovable",
    "PendingApproval",
    "StepUpRequired",
    "UnknownApproval",
    "args_hash",
    "canonical_args",
]


class ApprovalError(Exception):
    pass


class UnknownApproval(ApprovalError):
    pass


class NotApprovable(ApprovalError):
    pass


class GrantInvalid(ApprovalError):
    pass


class ArgsMismatch(ApprovalError):
    pass


class GrantExpired(ApprovalError):
    pass


class StepUpRequired(ApprovalError):
    pass


class GrantReplayed(ApprovalError):
    pass


def canonical_args(args: Mapping[str, Any]) -> str:
    """Canonical JSON of the arguments: sorted keys, no spaces, UTF-8, no NaN. No normalisation."""
    return json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def args_hash(args: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_args(args).encode("utf-8")).hexdigest()


class ApprovalState(Enum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    CONSUMED = "consumed"


@dataclass(frozen=True, slots=True)
class PendingApproval:
    approval_id: str
    call_id: str
    tool: str
    args_hash: str
    policy_version: str
    session_id: str
    created_at: datetime
    expires_at: datetime
    step_up_required: bool
    rule_ids: tuple[str, ...]
    card: ApprovalCard
    state: ApprovalState = ApprovalState.PENDING


@dataclass(frozen=True, slots=True)
class Grant:
    approval_id: str
    call_id: str
    tool: str
    args_hash: str
    policy_version: str
    session_id: str
    expires_at: datetime
    step_up_required: bool
    step_up_done: bool
    mac: str

    def message(self) -> bytes:
        fields = [
            self.approval_id,
            self.call_id,
            self.tool,
            self.args_hash,
            self.policy_version,
            self.session_id,
            self.expires_at.astimezone(UTC).isoformat(),
            str(int(self.step_up_required)),
            str(int(self.step_up_done)),
        ]
        return json.dumps(fields, separators=(",", ":")).encode("utf-8")


class ApprovalStore(Protocol):
    """Where approvals live. The lead plugs a database store in; tests use the in-memory one."""

    async def add(self, pending: PendingApproval) -> None: ...

    async def get(self, approval_id: str) -> PendingApproval | None: ...

    async def transition(self, approval_id: str, old: ApprovalState, new: ApprovalState) -> bool:
        """Atomically move ``old`` -> ``new``; False if the record was not in ``old``."""
        ...

    async def list_pending(self, session_id: str | None = None) -> list[PendingApproval]: ...


class InMemoryApprovalStore:
    def __init__(self) -> None:
        self._items: dict[str, PendingApproval] = {}

    async def add(self, pending: PendingApproval) -> None:
        if pending.approval_id in self._items:
            raise ApprovalError("duplicate approval id")
        self._items[pending.approval_id] = pending

    async def get(self, approval_id: str) -> PendingApproval | None:
        return self._items.get(approval_id)

    async def transition(self, approval_id: str, old: ApprovalState, new: ApprovalState) -> bool:
        item = self._items.get(approval_id)
        if item is None or item.state is not old:
            return False
        self._items[approval_id] = replace(item, state=new)
        return True

    async def list_pending(self, session_id: str | None = None) -> list[PendingApproval]:
        return [
            p
            for p in self._items.values()
            if p.state is ApprovalState.PENDING and (session_id is None or p.session_id == session_id)
        ]


class ApprovalService:
    """Creates pending approvals, turns console decisions into grants, verifies grants."""

    def __init__(
        self,
        store: ApprovalStore,
        key: bytes,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        ttl: timedelta = timedelta(minutes=10),
        new_id: Callable[[], str] = lambda: secrets.token_urlsafe(12),
        on_pending: Callable[[PendingApproval], Awaitable[None]] | None = None,
        job_ttl: timedelta = timedelta(hours=24),
    ) -> None:
        if len(key) < 32:
            raise ValueError("the grant key must be at least 32 bytes")
        self.store = store
        self._key = key
        self._clock = clock
        self._ttl = ttl
        # A job's proposal (session ``job:<id>``, made by Aegis's own code with no model in the path,
        # e.g. a grocery list) waits for an owner who is not at the console yet: a day, not minutes.
        self._job_ttl = job_ttl
        self._new_id = new_id
        self._on_pending = on_pending

    def _mac(self, grant: Grant) -> str:
        return hmac.new(self._key, grant.message(), hashlib.sha256).hexdigest()

    async def request(
        self, call: ToolCall, decision: Decision, *, session_id: str, card: ApprovalCard
    ) -> PendingApproval:
        now = self._clock()
        pending = PendingApproval(
            approval_id=self._new_id(),
            call_id=call.call_id,
            tool=decision.tool or call.tool,
            args_hash=args_hash(call.args),
            policy_version=decision.policy_version,
            session_id=session_id,
            created_at=now,
            expires_at=now + (self._job_ttl if session_id.startswith("job:") else self._ttl),
            step_up_required=decision.step_up,
            rule_ids=decision.rule_ids,
            card=card,
        )
        await self.store.add(pending)
        if self._on_pending is not None:
            try:
                await self._on_pending(pending)
            except Exception as exc:  # noqa: BLE001 - the approval stands; only the alert is lost
                log.warning("approval.notify_failed", approval_id=pending.approval_id, error=type(exc).__name__)
        return pending

    async def approve(self, approval_id: str, *, step_up_done: bool = False) -> Grant:
        """The console's 'approve once'. Step-up is verified by the console (TOTP, later issue)."""
        p = await self.store.get(approval_id)
        if p is None:
            raise UnknownApproval(approval_id)
        if self._clock() >= p.expires_at:
            raise NotApprovable("the approval request has expired")
        if not await self.store.transition(approval_id, ApprovalState.PENDING, ApprovalState.APPROVED):
            raise NotApprovable(f"approval is {p.state.value}")
        unsigned = Grant(
            p.approval_id,
            p.call_id,
            p.tool,
            p.args_hash,
            p.policy_version,
            p.session_id,
            p.expires_at,
            p.step_up_required,
            step_up_done,
            "",
        )
        return replace(unsigned, mac=self._mac(unsigned))

    async def deny(self, approval_id: str) -> None:
        if not await self.store.transition(approval_id, ApprovalState.PENDING, ApprovalState.DENIED):
            raise NotApprovable("approval is not pending")

    async def verify_and_consume(
        self, grant: Grant, call: ToolCall, *, tool: str, session_id: str, policy_version: str
    ) -> None:
        """Check ``grant`` against the exact call about to run, then mark it used. Raises ApprovalError."""
        if not hmac.compare_digest(grant.mac, self._mac(grant)):
            raise GrantInvalid("bad grant signature")
        if grant.call_id != call.call_id or grant.tool != tool:
            raise GrantInvalid("the grant is for another call")
        if grant.session_id != session_id:
            raise GrantInvalid("the grant is for another session")
        if grant.policy_version != policy_version:
            raise GrantInvalid("the policy changed since approval")
        if not hmac.compare_digest(grant.args_hash, args_hash(call.args)):
            raise ArgsMismatch("the arguments differ from the approved ones")
        if self._clock() >= grant.expires_at:
            raise GrantExpired("the grant has expired")
        if grant.step_up_required and not grant.step_up_done:
            raise StepUpRequired("this action needs the console step-up")
        if not await self.store.transition(grant.approval_id, ApprovalState.APPROVED, ApprovalState.CONSUMED):
            raise GrantReplayed("the grant was already used or revoked")
