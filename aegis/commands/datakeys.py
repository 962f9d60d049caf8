"""``aegis keys``: data-key rotation with a resumable rewrap."""

from __future__ import annotations

import asyncio

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import select

from aegis.runtime import Context, build_context
from storage.crypto.keyring import DOMAINS
from storage.crypto.keystore import ensure_keys
from storage.crypto.master import KeyEncryptionKey, load_master_key
from storage.crypto.rotation import count_rows, pending_rotations, run_rotation, start_rotation
from storage.db import Database
from storage.models import ENCRYPTED_COLUMNS, DataKeyRow

app = typer.Typer(help="Data encryption keys.", no_args_is_help=True)


def _kek() -> tuple[KeyEncryptionKey, Context]:
    ctx = build_context()
    return KeyEncryptionKey(load_master_key(ctx.settings.master_key_path)), ctx


@app.command()
def status() -> None:
    """List data keys: domain, purpose, version and state."""
    kek, ctx = _kek()

    async def go() -> None:
        db = ctx.database()
        try:
            async with db.transaction() as s:
                await ensure_keys(s, kek)
                rows = (await s.scalars(select(DataKeyRow).order_by(DataKeyRow.kid))).all()
            for r in rows:
                typer.echo(f"{r.kid:28} {r.state:13} wrapped-by={r.kek_id}")
            for rid in await pending_rotations(db):
                typer.echo(f"rotation {rid} is unfinished: run 'aegis datakeys resume'")
        finally:
            await db.dispose()

    asyncio.run(go())


@app.command()
def rotate(
    domain: str = typer.Argument(..., help=f"One of: {', '.join(sorted(DOMAINS))}"),
    batch_size: int = typer.Option(200, min=1, max=10_000),
) -> None:
    """Make a new key version for DOMAIN and re-encrypt its data. Safe to interrupt; resume later."""
    if domain not in DOMAINS:
        raise typer.BadParameter(f"unknown domain {domain!r}")
    kek, ctx = _kek()

    async def go() -> None:
        db = ctx.database()
        try:
            async with db.transaction() as s:
                await ensure_keys(s, kek)
            rid = await start_rotation(db, kek, domain)
            await _rewrap(db, kek, rid, batch_size)
        finally:
            await db.dispose()

    asyncio.run(go())


@app.command()
def resume(batch_size: int = typer.Option(200, min=1, max=10_000)) -> None:
    """Finish every rotation that was interrupted."""
    kek, ctx = _kek()

    async def go() -> None:
        db = ctx.database()
        try:
            ids = await pending_rotations(db)
            if not ids:
                typer.echo("no unfinished rotation")
            for rid in ids:
                await _rewrap(db, kek, rid, batch_size)
        finally:
            await db.dispose()

    asyncio.run(go())


async def _rewrap(db: Database, kek: KeyEncryptionKey, rid: int, batch_size: int) -> None:
    total = await count_rows(db, ENCRYPTED_COLUMNS)
    with Progress(
        TextColumn(f"rotation {rid}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()
    ) as bar:
        task = bar.add_task("rewrap", total=total)
        changed = await run_rotation(
            db, kek, rid, ENCRYPTED_COLUMNS, batch_size=batch_size, progress=lambda n: bar.advance(task, n)
        )
    typer.echo(f"rotation {rid} done: {changed} values re-encrypted; old versions retired")
