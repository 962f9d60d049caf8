"""Approvals in the database: the pending record and the exact arguments, encrypted.

The gateway creates the record (``add``) during a tool call; the arguments come from the tool
runner, which stages them by call id just before the call, so the console can later run exactly
what it showed.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from agent.gateway.approvals import ApprovalState, PendingApproval
from agent.gateway.card import ApprovalCard, CardArg, UrlParts
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.agent import ENCRYPTED, ApprovalRow
from storage.models.base import utcnow

_ARGS, _CARD = ENCRYPTED[3], ENCRYPTED[4]
DOMAIN = "conversation"


def _card_from(d: dict[str, Any]) -> ApprovalCard:
    args = tuple(
        CardArg(
            a["name"],
            tuple(a["lines"]),
            a["chip"],
            a["untrusted"],
            a["hidden_chars"],
            a["long_whitespace"],
            tuple(UrlParts(**{**u, "params": tuple(tuple(p) for p in u["params"])}) for u in a["urls"]),
        )
        for a in d["args"]
    )
    return ApprovalCard(
        d["headline"],
        d["tool"],
        d["pin"],
        args,
        tuple(tuple(r) for r in d["rules"]),
        tuple(d["data_leaving"]),
        tuple(d["context_sources"]),
        d["step_up_required"],
        d["original_request"],
        tuple(d.get("source_flags", ())),
        tuple((str(k), str(v)) for k, v in d.get("facts", ())),
        str(d.get("facts_from", "")),
        bool(d.get("owner_directed", False)),
    )


def _record(p: PendingApproval) -> str:
    return json.dumps({"policy_version": p.policy_version, "rule_ids": list(p.rule_ids), "card": asdict(p.card)})


class DbApprovalStore:
    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher
        self._staged: dict[str, dict[str, Any]] = {}

    def stage(self, call_id: str, args: dict[str, Any]) -> None:
        self._staged[call_id] = dict(args)

    def unstage(self, call_id: str) -> None:
        self._staged.pop(call_id, None)

    async def add(self, pending: PendingApproval) -> None:
        args = self._staged.pop(pending.call_id, None)
        if args is None:
            raise KeyError(f"no staged arguments for call {pending.call_id}")
        aid = pending.approval_id
        async with self._db.transaction() as s:
            s.add(
                ApprovalRow(
                    id=aid,
                    call_id=pending.call_id,
                    conversation_id=pending.session_id,
                    tool=pending.tool,
                    args=self._cipher.encrypt_text(DOMAIN, _ARGS.context({"id": aid}), json.dumps(args)),
                    args_hash=pending.args_hash,
                    card=self._cipher.encrypt_text(DOMAIN, _CARD.context({"id": aid}), _record(pending)),
                    status=pending.state.value,
                    step_up=pending.step_up_required,
                    created_at=pending.created_at,
                    expires_at=pending.expires_at,
                )
            )

    def _pending(self, row: ApprovalRow) -> PendingApproval:
        rec = json.loads(self._cipher.decrypt_text(DOMAIN, _CARD.context({"id": row.id}), row.card))
        return PendingApproval(
            row.id,
            row.call_id,
            row.tool,
            row.args_hash,
            rec["policy_version"],
            row.conversation_id or "",
            row.created_at,
            row.expires_at,
            row.step_up,
            tuple(rec["rule_ids"]),
            _card_from(rec["card"]),
            ApprovalState(row.status),
        )

    async def get(self, approval_id: str) -> PendingApproval | None:
        async with self._db.transaction() as s:
            row = await s.get(ApprovalRow, approval_id)
        return None if row is None else self._pending(row)

    async def args_of(self, approval_id: str) -> dict[str, Any]:
        async with self._db.transaction() as s:
            row = await s.get(ApprovalRow, approval_id)
        if row is None:
            raise KeyError(approval_id)
        out: dict[str, Any] = json.loads(self._cipher.decrypt_text(DOMAIN, _ARGS.context({"id": row.id}), row.args))
        return out

    async def transition(self, approval_id: str, old: ApprovalState, new: ApprovalState) -> bool:
        async with self._db.transaction() as s:
            done = await s.execute(
                update(ApprovalRow)
                .where(ApprovalRow.id == approval_id, ApprovalRow.status == old.value)
                .values(status=new.value, decided_at=utcnow())
            )
        return bool(done.rowcount)  # type: ignore[attr-defined]

    async def note(self, approval_id: str, reason: str) -> None:
        async with self._db.transaction() as s:
            await s.execute(
                update(ApprovalRow).where(ApprovalRow.id == approval_id).values(decision_reason=reason[:256])
            )

    async def list_pending(self, session_id: str | None = None) -> list[PendingApproval]:
        return [p for p, _ in await self.history(status="pending", session_id=session_id)]

    async def history(
        self, *, status: str | None = None, session_id: str | None = None, limit: int = 100
    ) -> list[tuple[PendingApproval, dict[str, Any]]]:
        q = select(ApprovalRow).order_by(ApprovalRow.created_at.desc()).limit(limit)
        if status is not None:
            q = q.where(ApprovalRow.status == status)
        if session_id is not None:
            q = q.where(ApprovalRow.conversation_id == session_id)
        async with self._db.transaction() as s:
            rows = (await s.scalars(q)).all()
        return [(self._pending(r), {"decided_at": r.decided_at, "reason": r.decision_reason}) for r in rows]

    @staticmethod
    def expired(p: PendingApproval, now: datetime) -> bool:
        return p.state is ApprovalState.PENDING and now >= p.expires_at
