"""``aegis integrations`` (what is installed, and how each one is doing) and ``aegis mcp NAME``
(one integration's server over stdio, for Claude Desktop, the MCP Inspector or any MCP client)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from aegis.identities import key_path, server_identity
from aegis.runtime import Context, build_context
from storage.models.jobs import JobRunRow, JobStateRow

STALE_AFTER = 15 * 60  # the console refreshes the snapshot whenever the page or a panel asks
FINAL = ("ok", "failed", "skipped")


def status_path(ctx: Context) -> Path:
    return ctx.settings.data_dir / "integrations-status.json"


def _snapshot(ctx: Context) -> dict[str, Any]:
    try:
        raw = json.loads(status_path(ctx).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


async def _runs(ctx: Context) -> tuple[dict[str, JobRunRow], dict[str, datetime | None]]:
    db = ctx.database()
    try:
        async with db.transaction() as s:
            runs = (
                await s.scalars(
                    select(JobRunRow).where(JobRunRow.outcome.in_(FINAL)).order_by(JobRunRow.finished_at.desc())
                )
            ).all()
            states = (await s.scalars(select(JobStateRow))).all()
    finally:
        await db.dispose()
    last: dict[str, JobRunRow] = {}
    for r in runs:
        last.setdefault(r.job_id, r)
    return last, {s.job_id: None if s.paused else s.next_run_at for s in states}


def _when(t: datetime | None) -> str:
    return "-" if t is None else t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def list_integrations() -> None:
    """Every installed integration: connected or not (as the console last checked it, within 15
    minutes), last sync, health, next run."""
    ctx = build_context()
    last, nexts = asyncio.run(_runs(ctx))
    snap = _snapshot(ctx)
    fresh = isinstance(snap.get("at"), (int, float)) and datetime.now(UTC).timestamp() - snap["at"] < STALE_AFTER
    table = Table("Name", "Title", "Connected", "Last sync", "Health", "Next run")
    for m in ctx.catalog:
        job = m.jobs[0].job if m.jobs else None
        run = last.get(job) if job else None
        state = snap.get("integrations", {}).get(m.name, {}) if fresh else {}
        flag = state.get("connected")
        connected = "not checked yet (open Integrations)" if flag is None else ("yes" if flag else "no")
        if state.get("needs_reauth"):
            connected = "needs re-auth"
        sync = "never" if run is None else f"{_when(run.finished_at)} ({run.outcome})"
        health = state.get("health") or ("server up" if state.get("server_up") else "-")
        table.add_row(m.name, m.title, connected, sync, health, _when(nexts.get(job)) if job else "-")
    Console().print(table)


def run_mcp(name: str, demo: bool) -> None:
    """Replace this process with the integration's server over stdio."""
    ctx = build_context()
    manifest = ctx.catalog.get(name)
    if manifest is None:
        raise typer.BadParameter(f"no installed integration {name!r} (installed: {', '.join(ctx.catalog.names)})")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AEGIS_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    if demo:
        env["AEGIS_MCP_MODE"] = "demo"
    else:
        key = key_path(ctx, server_identity(manifest))
        if not key.exists():
            raise typer.BadParameter(f"no broker key for {name} yet: start Aegis once ('aegis up'), or use --demo")
        env |= {
            "AEGIS_MCP_MODE": "external",
            "AEGIS_BROKER_URL": ctx.settings.resolved_broker_url,
            "AEGIS_BROKER_ISSUER": ctx.settings.resolved_broker_issuer,
            "AEGIS_MCP_KEY_FILE": str(key.resolve()),
            "AEGIS_DATABASE_URL": ctx.database_url,
            "AEGIS_DEMO": "1" if ctx.settings.demo_profile else "0",
        }
    os.execve(sys.executable, [sys.executable, "-m", manifest.module], env)  # noqa: S606 - our own server module
