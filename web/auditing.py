"""Audit rows for console requests, written through the storage layer's hash-chained log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import AuditError, AuditEvent, AuditLog, Sensitive
from web.errors import AuditUnavailable

ADMIN = "admin"
ANONYMOUS = "anonymous"


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def trace_id(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("trace_id")
    return value if isinstance(value, str) else None


class Auditor:
    """Builds the who/what/where of each row from the request and appends it in the caller's transaction."""

    def __init__(self, log: AuditLog) -> None:
        self._log = log

    async def record(
        self,
        session: AsyncSession,
        request: Request,
        *,
        actor: str,
        action: str,
        result: str,
        reason: str | None = None,
        resource: str | Sensitive | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        event = AuditEvent(
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
        try:
            await self._log.append(session, event)
        except AuditError as exc:
            raise AuditUnavailable(str(exc)) from exc
