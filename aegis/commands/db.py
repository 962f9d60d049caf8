"""``aegis db``: schema migrations."""

from __future__ import annotations

import asyncio

import typer

from aegis.runtime import build_context
from storage import migrate
from storage.db import Database

app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)


@app.command()
def upgrade(revision: str = "heads") -> None:
    """Apply migrations up to REVISION."""
    ctx = build_context()
    ctx.ensure_data_dir()

    async def go() -> None:
        await migrate.upgrade_owned(ctx.database_url, ctx.migration_database_url, revision)
        db = ctx.database()
        try:
            typer.echo(f"schema at {await migrate.current(db)}")
        finally:
            await db.dispose()

    asyncio.run(go())


@app.command()
def downgrade(revision: str = typer.Argument(..., help="Target revision, or 'base'")) -> None:
    """Revert migrations down to REVISION."""
    ctx = build_context()
    typer.confirm(f"Revert the schema to {revision}? Tables dropped on the way lose their data.", abort=True)

    async def go() -> None:
        db = Database(ctx.migration_database_url or ctx.database_url)
        try:
            await migrate.downgrade(db, revision)
        finally:
            await db.dispose()

    asyncio.run(go())


@app.command()
def current() -> None:
    """Print the current schema revision."""
    ctx = build_context()

    async def go() -> None:
        db = ctx.database()
        try:
            typer.echo(await migrate.current(db) or "empty")
        finally:
            await db.dispose()

    asyncio.run(go())
