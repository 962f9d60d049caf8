"""Ingest routes for integrations a device pushes to (``connect.kind: push``), mounted generically.

Each push manifest declares one route ``POST /ingest/<name>`` and the factory that builds it
(:class:`integrations.manifest.Push`). The console mounts exactly that one route, lets it through the
session guard as a public entry (it checks its own per-device bearer token with the broker), and
gives it a larger body limit than the console's own pages, checked before anything is parsed. The
route forwards a good batch to the integration's ADMIN ingest tool and nothing else; every batch,
accepted or refused, leaves an audit row (:func:`push_audit`).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute

from broker.client import BrokerClient
from integrations import Manifest
from web.data import ConsoleData, ToolResult
from web.state import Console

Audit = Callable[[Request, str, str | None, Mapping[str, Any]], Awaitable[None]]


class PushRouteError(RuntimeError):
    """A push integration's factory did not build exactly its one declared route."""


@dataclass(frozen=True)
class PushRoute:
    integration: str
    path: str
    max_bytes: int


def push_routes(manifests: Iterable[Manifest]) -> tuple[PushRoute, ...]:
    pushes = [(m.name, m.connect.push) for m in manifests]
    return tuple(PushRoute(name, p.path, p.max_bytes) for name, p in pushes if p is not None)


def public_entries(routes: Iterable[PushRoute]) -> frozenset[tuple[str, str]]:
    """The guard's public entries for push routes: POST on each declared path, nothing else."""
    return frozenset(("POST", r.path) for r in routes)


def push_audit(console: Console, integration: str) -> Audit:
    async def audit(request: Request, result: str, reason: str | None, details: Mapping[str, Any]) -> None:
        device = details.get("device")
        await console.auditor.commit(
            request,
            actor=str(device) if device else "anonymous",
            action="integration.push",
            result=result,
            reason=reason,
            resource=f"integration:{integration}",
            details=dict(details),
        )

    return audit


def _forwarder(data: ConsoleData, tool: str) -> Callable[[str, dict[str, Any]], Awaitable[ToolResult]]:
    async def forward(name: str, args: dict[str, Any]) -> ToolResult:
        if name != tool:  # the route may reach its own ingest tool and nothing else
            return ToolResult(False, error=f"{name} is not this route's ingest tool")
        if data.tools is None:
            return ToolResult(False, error="the agent is not running in this console")
        return await data.tools.console_only(name, args)

    return forward


def mount_push(app: FastAPI, data: ConsoleData, console: Console, broker: BrokerClient | None) -> None:
    """Mount every push integration's route. Without a broker no device token can be checked, so the
    routes are not mounted at all (a phone gets 404, never an unchecked door)."""
    if broker is None:
        return
    for manifest in data.catalog:
        push = manifest.connect.push
        if push is None:
            continue
        module, _, factory = push.router.partition(":")
        build = getattr(importlib.import_module(f"{manifest.module}.{module}"), factory)
        router = build(
            broker=broker,
            forward=_forwarder(data, push.tool),
            audit=push_audit(console, manifest.name),
            max_bytes=push.max_bytes,
        )
        if not isinstance(router, APIRouter):
            raise PushRouteError(f"{manifest.name}: {push.router} did not return a router")
        routes = [(sorted(r.methods or ()), r.path) for r in router.routes if isinstance(r, APIRoute)]
        if len(router.routes) != 1 or routes != [(["POST"], push.path)]:
            raise PushRouteError(f"{manifest.name}: the push router must hold exactly POST {push.path}")
        app.include_router(router)
