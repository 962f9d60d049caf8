"""``aegis audit``: check the tamper-evident audit log."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import typer

from aegis.identities import console_identity, key_path, read_key
from aegis.runtime import Context, build_context
from broker.client import BrokerClient, BrokerClientError
from broker.grants import fetch_keyring
from storage.audit import ChainKey, ChainReport, Checkpoint, verify_chain
from storage.audit_checkpoint import FILE_NAME, CheckpointError, CheckpointFile, CheckpointPublicKey
from storage.crypto.errors import KeyUnavailable

app = typer.Typer(help="The audit log.", no_args_is_help=True)


async def chain_key(ctx: Context) -> ChainKey:
    """The chain key, granted by the broker to the console's identity (the database never holds it)."""
    async with httpx.AsyncClient(base_url=ctx.settings.resolved_broker_url, timeout=30, trust_env=False) as http:
        key = read_key(ctx, key_path(ctx, console_identity(ctx.catalog)))
        return ChainKey.of(await fetch_keyring(BrokerClient(http), key, {"chain"}))


def describe(report: ChainReport, checkpoint: Checkpoint | None) -> str:
    legacy = report.rows - report.keyed_rows
    text = f"audit chain intact: {report.rows} rows ({report.keyed_rows} keyed"
    text += f", {legacy} from before the chain was keyed)" if legacy else ")"
    if checkpoint is None:
        return text + "; no checkpoint yet, so a truncated tail or a rewritten history cannot be told apart"
    return text + f"; matches the signed checkpoint of row {checkpoint.seq} ({checkpoint.ts})"


@app.command()
def verify(
    checkpoints: Path | None = typer.Option(None, help="the checkpoint file (default: the data folder's)"),
    public_key: Path | None = typer.Option(
        None, help="your own copy of audit-checkpoints.pub: the checkpoints must be signed by it"
    ),
) -> None:
    """Check every row against the keyed hash chain and the latest signed checkpoint.

    Reports the first broken link, a truncated tail or a rewritten history. Exits 1 if the chain is
    broken, 2 if it cannot be checked (the broker is not running to grant the chain key; with
    ``--public-key`` the checkpoints are still checked, offline).
    """
    ctx = build_context()
    path = checkpoints or ctx.settings.data_dir / FILE_NAME

    async def go() -> int:
        try:
            pinned = CheckpointFile(path, CheckpointPublicKey.read(public_key)) if public_key else None
            offline = pinned.latest() if pinned else None
        except CheckpointError as exc:
            typer.echo(f"audit checkpoints BROKEN: {exc}", err=True)
            return 1
        try:
            key = await chain_key(ctx)
        except (httpx.TransportError, BrokerClientError, KeyUnavailable, OSError) as exc:
            typer.echo(f"cannot get the audit chain key from the broker (is aegis up running?): {exc}", err=True)
            if offline is not None:
                typer.echo(f"the checkpoints verify with the public key: latest row {offline.seq} ({offline.ts})")
            return 2
        try:
            file = CheckpointFile(path, key)
            checkpoint = file.latest()
            if pinned is not None and file.public != pinned.public:
                raise CheckpointError("the chain key's checkpoints are not signed by the given public key")
        except CheckpointError as exc:
            typer.echo(f"audit checkpoints BROKEN: {exc}", err=True)
            return 1
        db = ctx.database()
        try:
            async with db.transaction() as session:
                report = await verify_chain(session, key=key, checkpoint=checkpoint)
        finally:
            await db.dispose()
        if report.ok:
            typer.echo(describe(report, checkpoint))
            return 0
        typer.echo(
            f"audit chain BROKEN at row {report.first_bad_seq}: {report.problem} "
            f"({report.rows} rows verified before it)",
            err=True,
        )
        return 1

    status = asyncio.run(go())
    if status:
        raise typer.Exit(status)
