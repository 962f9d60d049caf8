"""The ``aegis`` command."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError
from rich.console import Console

from aegis.commands import admin, audit, broker, datakeys, db, keys, secrets
from aegis.secrets import SecretError
from storage.crypto.errors import CryptoError

app = typer.Typer(help="Aegis: a self-hosted personal intelligence platform.", no_args_is_help=True)
app.add_typer(db.app, name="db")
app.add_typer(audit.app, name="audit")
app.add_typer(datakeys.app, name="datakeys")
app.add_typer(broker.app, name="broker")
app.add_typer(secrets.app, name="secrets")
app.add_typer(keys.keys_app, name="keys")
app.add_typer(keys.principals_app, name="principals")
app.add_typer(admin.app, name="admin")


@app.command()
def up() -> None:
    """Start Aegis: data folder, master key, migrations, then serve on 127.0.0.1."""
    from aegis.commands.up import run
    from aegis.runtime import build_context

    run(build_context(), Console())


@app.command("integrations")
def integrations_list() -> None:
    """The installed integrations: connected or not, last sync, health, next run."""
    from aegis.commands.integrations import list_integrations

    list_integrations()


@app.command()
def mcp(
    name: str = typer.Argument(help="an installed integration, e.g. one listed by 'aegis integrations'"),
    demo: bool = typer.Option(False, "--demo", help="demo data, a throwaway database, no broker: nothing else needed"),
) -> None:
    """Run one integration's MCP server over stdio for another MCP client (read tools only)."""
    from aegis.commands.integrations import run_mcp

    run_mcp(name, demo)


def main() -> None:
    try:
        app()
    except (SecretError, CryptoError) as exc:
        Console(stderr=True).print(f"aegis: {exc}", markup=False, soft_wrap=True, style="red")
        sys.exit(2)
    except ValidationError as exc:
        Console(stderr=True).print(f"aegis: invalid configuration:\n{exc}", markup=False, soft_wrap=True, style="red")
        sys.exit(2)
