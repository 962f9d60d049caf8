"""``aegis secrets``: the vault, without a value ever touching argv, the screen or shell history."""

from __future__ import annotations

from pathlib import Path

import click
import typer

from aegis.commands.broker import with_client
from broker.secret_types import TYPES

app = typer.Typer(help="Secrets in the broker's vault (values are never echoed).", no_args_is_help=True)


def _read_value(from_file: Path | None, kind: str) -> str:
    if from_file is not None:
        try:
            value = from_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise typer.BadParameter(f"cannot read {from_file}: {exc.strerror}") from None
        return value if kind == "ssh-private-key" else value.rstrip("\n")
    value = str(click.prompt("Value", hide_input=True, confirmation_prompt="Repeat the value", err=True))
    if not value:
        raise typer.BadParameter("the value is empty")
    return value


@app.command()
def add(
    name: str,
    kind: str = typer.Option("password", "--type", help=f"One of: {', '.join(TYPES)}"),
    resource: str | None = typer.Option(None, help="Bind the secret to a resource, e.g. host:server1"),
    from_file: Path | None = typer.Option(None, "--from-file", help="Read a multi-line value from a file"),
) -> None:
    """Store a new secret. The value is typed twice without echo, or read from --from-file."""
    if kind not in TYPES:
        raise typer.BadParameter(f"--type must be one of {', '.join(TYPES)}")
    value = _read_value(from_file, kind)
    out = with_client(lambda c: c.add_secret(name, value, kind=kind, resource=resource))
    typer.echo(f"stored {out['name']} ({out['type']}, version {out['version']})")


@app.command("list")
def list_() -> None:
    """Secret metadata: name, type, resource, version and last update. Never values."""
    rows = with_client(lambda c: c.list_secrets())
    if not rows:
        typer.echo("no secrets")
    for r in rows:
        typer.echo(f"{r['name']:32} {r['type']:16} {r['resource'] or '-':24} v{r['version']:<4} {r['updated_at']}")


@app.command()
def rotate(
    name: str,
    from_file: Path | None = typer.Option(None, "--from-file", help="Read a multi-line value from a file"),
) -> None:
    """Replace a secret's value atomically; earlier versions are kept in its history."""
    value = _read_value(from_file, "ssh-private-key" if from_file else "password")
    out = with_client(lambda c: c.rotate_secret(name, value))
    typer.echo(f"rotated {out['name']} to version {out['version']}")


@app.command()
def delete(
    name: str,
    purge: bool = typer.Option(False, "--purge", help="Destroy the data keys: the value is gone for good"),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation"),
) -> None:
    """Soft-delete a secret, or purge it (irreversible)."""
    if not yes:
        what = "PURGE (irreversibly destroy)" if purge else "delete"
        typer.confirm(f"{what} secret {name}?", abort=True)
    with_client(lambda c: c.delete_secret(name, purge=purge))
    typer.echo(f"{'purged' if purge else 'deleted'} {name}")
