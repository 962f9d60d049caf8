"""``aegis audit``: check the tamper-evident audit log."""

from __future__ import annotations

import asyncio

import typer

from aegis.runtime import build_context
from storage.audit import verify_chain

app = typer.Typer(help="The audit log.", no_args_is_help=True)


@app.command()
def verify() -> None:
    """Walk the hash chain and report the first broken link. Exits 1 if the chain is broken."""
    ctx = build_context()

    async def go() -> bool:
        db = ctx.database()
        try:
            async with db.transaction() as session:
                report = await verify_chain(session)
        finally:
            await db.dispose()
        if report.ok:
            typer.echo(f"audit chain intact: {report.rows} rows")
        else:
            typer.echo(
                f"audit chain BROKEN at row {report.first_bad_seq}: {report.problem} "
                f"({report.rows} rows verified before it)",
                err=True,
            )
        return report.ok

    if not asyncio.run(go()):
        raise typer.Exit(1)
