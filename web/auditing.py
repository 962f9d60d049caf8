"""Audit rows for console requests, written through the storage layer's hash-chained log."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage.audit import AuditError, AuditEvent, AuditLog, Sensitive
from storage.audit_writer import AuditWriter
from storage.models import AuditRow
from web.errors import AuditUnavailable

ADMIN = "admin"
ANONYMOUS = "anonymous"


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def trace_id(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("trace_id")
    return value if isinstance(value, str) else None


class Auditor:
    """Builds the who/what/where of each row from the request. :meth:`record` appends it in the
    caller's transaction; :meth:`commit` commits it on its own through the group-commit writer."""

    def __init__(self, log: AuditLog, writer: AuditWriter) -> None:
        self._log = log
        self._writer = writer

    async def record(self, session: AsyncSession, request: Request, **fields: Any) -> None:
        try:
            await self._log.append(session, self._event(request, **fields))
        except AuditError as exc:
            raise AuditUnavailable(str(exc)) from exc

    async def commit(self, request: Request, **fields: Any) -> None:
        """Append and wait for the commit. Never call it inside an open transaction."""
        try:
            await self._writer.write(self._event(request, **fields))
        except AuditError as exc:
            raise AuditUnavailable(str(exc)) from exc

    async def commit_checked(self, request: Request, check: Callable[[Session], Mapping[str, Any]]) -> AuditRow:
        """``check`` runs in the group commit (see ``storage.audit_writer``) and returns the row's fields, so a check
        (is the session live?) and the record of its outcome go in the same group commit."""
        try:
            return await self._writer.write(lambda session: self._event(request, **check(session)))
        except AuditError as exc:
            raise AuditUnavailable(str(exc)) from exc

    @staticmethod
    def _event(
        request: Request,
        *,
        actor: str,
        action: str,
        result: str,
        reason: str | None = None,
        resource: str | Sensitive | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEvent:
        return AuditEvent(
            actor=actor,
            action=action,
            result=result,
            resource=resource if resource is not None else request.url.path,
            reason=reason,
            source_ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            trace_id=trace_id(request),
            details=dict(details or {}),
        )
