"""``aegis broker``: run and inspect the credential broker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import typer
import uvicorn

from aegis.broker_root import broker_config, ensure_admin_token, read_admin_token
from aegis.runtime import Context, build_context
from aegis.serving import Server
from broker.client import BrokerClient, BrokerClientError
from broker.tls import server_options

app = typer.Typer(help="The credential broker.", no_args_is_help=True)
T = TypeVar("T")


def with_client(fn: Callable[[BrokerClient], Awaitable[T]], *, admin: bool = True) -> T:
    """Run ``fn`` against the configured broker; print its refusal and exit 1 on error."""
    ctx = build_context()

    async def go() -> T:
        token = read_admin_token(ctx) if admin else None
        async with httpx.AsyncClient(
            base_url=ctx.settings.resolved_broker_url, timeout=30, verify=ctx.settings.broker_verify
        ) as http:
            return await fn(BrokerClient(http, admin_token=token))

    try:
        return asyncio.run(go())
    except BrokerClientError as exc:
        typer.echo(f"broker refused: {exc.code}: {exc.message}", err=True)
        raise typer.Exit(1) from None
    except httpx.TransportError:
        typer.echo(f"cannot reach the broker at {ctx.settings.resolved_broker_url}; is 'aegis up' running?", err=True)
        raise typer.Exit(1) from None


def serve_broker(ctx: Context) -> None:
    from broker.app import create_broker_app
    from broker.state import BrokerState
    from storage.db import Database

    ensure_admin_token(ctx)
    config = broker_config(ctx)
    state = BrokerState(config=config, db=Database(config.database_url))
    server = Server(
        uvicorn.Config(
            create_broker_app(state),
            host=ctx.settings.broker_host,
            port=ctx.settings.broker_port,
            log_config=None,
            access_log=False,
            server_header=False,
            **server_options(ctx.settings.tls_cert_file, ctx.settings.tls_key_file),
        )
    )
    asyncio.run(server.serve())


@app.command()
def serve() -> None:
    """Run the broker alone (the deployed setup gives it its own container)."""
    ctx = build_context()
    ctx.ensure_data_dir()
    serve_broker(ctx)


@app.command()
def health() -> None:
    """Show whether the broker is up and unsealed. Exits 1 when sealed or unreachable."""
    body: dict[str, Any] = with_client(lambda c: c.health(), admin=False)
    typer.echo(" ".join(f"{k}={v}" for k, v in body.items()))
    if body.get("sealed", True):
        raise typer.Exit(1)


@app.command("rotate-signing-key")
def rotate_signing_key() -> None:
    """Start signing with a new key; the old one verifies until its tokens expire."""
    out = with_client(lambda c: c.admin_post("/v1/admin/signing-key/rotate"))
    typer.echo(f"active signing key: {out['active_kid']} (retiring: {', '.join(out['retiring']) or 'none'})")


@app.command("revoke-signing-key")
def revoke_signing_key(
    kid: str,
    reason: str = typer.Option("compromised", help="Recorded in the audit log (a-z 0-9 _ . -)"),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation"),
) -> None:
    """Emergency: stop trusting a signing key now. Its live tokens are revoked; the active one is replaced."""
    if not yes:
        typer.confirm(f"Revoke signing key {kid} and every live token it signed?", abort=True)
    out = with_client(lambda c: c.revoke_signing_key(kid, reason))
    typer.echo(
        f"revoked {out['revoked']}; active signing key: {out['active_kid']}; {out['tokens_revoked']} tokens revoked"
    )


@app.command("rotate-master-key")
def rotate_master_key(yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation")) -> None:
    """Re-wrap every data key under a new master key file. Back up the new file afterwards."""
    if not yes:
        typer.confirm("Replace the master key? Back up the new key file right after.", abort=True)
    out = with_client(lambda c: c.admin_post("/v1/admin/master-key/rotate"))
    typer.echo(
        f"master key rotated ({out['data_keys_rewrapped']} data keys re-wrapped). "
        f"The previous key is at {out['previous_key_file']}: destroy it once the new key is backed up."
    )


@app.command()
def seal(yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation")) -> None:
    """Seal the broker now (emergency stop). A restart with the master key unseals it."""
    if not yes:
        typer.confirm("Seal the broker? Every integration loses access until it restarts.", abort=True)
    with_client(lambda c: c.admin_post("/v1/admin/seal"))
    typer.echo("sealed")
