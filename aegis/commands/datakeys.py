"""``aegis datakeys``: per-domain data keys. Rotation runs inside the broker (the only holder of the
master key) as a resumable background rewrap; this command starts it and shows its progress."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import select

from aegis.commands.broker import with_client
from aegis.runtime import build_context
from broker.client import BrokerClient
from storage.crypto.keyring import DOMAINS
from storage.models import DataKeyRow, KeyRotationRow

app = typer.Typer(help="Data encryption keys (one keyring per domain).", no_args_is_help=True)


@app.command()
def status() -> None:
    """Every data key's id and state, and unfinished rotations. Reads metadata only."""
    ctx = build_context()

    async def go() -> None:
        db = ctx.database()
        try:
            async with db.transaction() as s:
                rows = (await s.scalars(select(DataKeyRow).order_by(DataKeyRow.kid))).all()
                running = (await s.scalars(select(KeyRotationRow).where(KeyRotationRow.state == "running"))).all()
        finally:
            await db.dispose()
        if not rows:
            typer.echo("no data keys yet: start Aegis once ('aegis up')")
        for r in rows:
            typer.echo(f"{r.kid:24} {r.state:13} wrapped-by={r.kek_id}")
        for rot in running:
            typer.echo(f"rotation {rot.id} ({rot.domain}) is unfinished; the broker resumes it when it starts")

    asyncio.run(go())


@app.command()
def rotate(
    domain: str = typer.Argument(..., help=f"One of: {', '.join(sorted(DOMAINS))}"),
    detach: bool = typer.Option(False, "--detach", help="Start the rewrap and return at once"),
) -> None:
    """New key version for DOMAIN, then re-encrypt its data in the background (safe to interrupt)."""
    if domain not in DOMAINS:
        raise typer.BadParameter(f"unknown domain {domain!r}")

    async def go(c: BrokerClient) -> dict[str, Any]:
        started = await c.admin_post(f"/v1/admin/data-keys/{domain}/rotate")
        if detach:
            return started
        return await follow(c, int(started["rotation"]))

    out = with_client(go)
    typer.echo(f"rotation {out['rotation']} ({domain}): {out.get('state', 'running')}")


async def follow(c: BrokerClient, rid: int, *, interval: float = 0.2) -> dict[str, Any]:
    """Show a progress bar until the broker reports the rotation done."""
    with Progress(TextColumn(f"rewrap {rid}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task("rewrap", total=None)
        while True:
            try:
                st = await c.admin_get(f"/v1/admin/rotations/{rid}")
            except httpx.TransportError:
                typer.echo("lost the broker; the rotation resumes when it restarts", err=True)
                raise typer.Exit(1) from None
            bar.update(task, total=st["rows_total"], completed=min(st["rows_done"], st["rows_total"]))
            if st["state"] == "done":
                return st
            await asyncio.sleep(interval)
