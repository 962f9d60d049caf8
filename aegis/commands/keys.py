"""``aegis keys`` and ``aegis principals``: broker identities and their API keys."""

from __future__ import annotations

import json
from typing import Any

import typer

from aegis.commands.broker import with_client

keys_app = typer.Typer(help="Broker API keys (they only mint tokens).", no_args_is_help=True)
principals_app = typer.Typer(help="Broker principals and their ceilings.", no_args_is_help=True)


@keys_app.command()
def create(
    principal: str = typer.Argument(..., help="Principal name; created if new"),
    scope: list[str] = typer.Option([], "--scope", help="A scope this key may mint (repeat; at least one)"),
    resource: list[str] = typer.Option([], "--resource", help="A resource this key may mint for (repeat)"),
    max_scope: list[str] | None = typer.Option(None, "--max-scope", help="New principal's scope ceiling"),
    max_resource: list[str] | None = typer.Option(None, "--max-resource", help="New principal's resource ceiling"),
    expires_in_days: int = typer.Option(90, min=1, max=365),
) -> None:
    """Create an API key. It is shown once: store it where the service reads its secrets."""
    if not scope:
        typer.echo("name at least one --scope: a key without scopes grants nothing", err=True)
        raise typer.Exit(2)
    body: dict[str, Any] = {
        "principal": principal,
        "scopes": scope,
        "resources": resource or None,
        "max_scopes": max_scope,
        "max_resources": max_resource,
        "expires_in_days": expires_in_days,
    }
    out = with_client(lambda c: c.create_key(**body))
    typer.echo(f"key id:  {out['key_id']}\nexpires: {out['expires_at']}")
    typer.echo("API key (shown once, store it now):", err=True)
    typer.echo(out["api_key"])


@keys_app.command()
def revoke(
    key_id: str,
    reason: str = typer.Option("admin", help="Recorded in the audit log"),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation"),
) -> None:
    """Revoke a key and every live token minted from it."""
    if not yes:
        typer.confirm(f"Revoke API key {key_id} and its live tokens?", abort=True)
    out = with_client(lambda c: c.revoke_key(key_id, reason))
    typer.echo(f"revoked {key_id} ({out['tokens_revoked']} live tokens revoked)")


@principals_app.command("list")
def list_() -> None:
    """Every principal with its ceiling."""
    for p in with_client(lambda c: c.principals()):
        state = "disabled" if p["disabled"] else "active"
        typer.echo(f"{p['name']:24} {state:9} scopes={_fmt(p['max_scopes'])} resources={_fmt(p['max_resources'])}")


@principals_app.command()
def show(principal: str) -> None:
    """A principal and its keys (ids and metadata only)."""
    typer.echo(json.dumps(with_client(lambda c: c.principal(principal)), indent=2))


@principals_app.command()
def policy(
    principal: str,
    max_scope: list[str] | None = typer.Option(None, "--max-scope", help="Allowed scope (repeat)"),
    max_resource: list[str] | None = typer.Option(None, "--max-resource", help="Allowed resource (repeat)"),
    deny_all: bool = typer.Option(False, "--deny-all", help="Set both ceilings to [] (deny everything)"),
    unconstrained: bool = typer.Option(False, "--unconstrained", help="Remove the ceilings (NULL)"),
    may_act_for: list[str] | None = typer.Option(
        None, "--may-act-for", help="An audience its tokens may be exchanged for (repeat; default: unchanged)"
    ),
) -> None:
    """Set a principal's absolute ceiling (and the audiences its tokens may be exchanged for)."""
    if deny_all and unconstrained:
        raise typer.BadParameter("--deny-all and --unconstrained exclude each other")
    scopes: list[str] | None
    resources: list[str] | None
    if deny_all:
        scopes, resources = [], []
    elif unconstrained:
        scopes, resources = None, None
    else:
        scopes, resources = max_scope or [], max_resource or []
    out = with_client(lambda c: c.set_policy(principal, scopes, resources, may_act_for=may_act_for))
    typer.echo(
        f"{out['name']}: scopes={_fmt(out['max_scopes'])} resources={_fmt(out['max_resources'])} "
        f"may act for={_fmt(out['may_act_for'])}"
    )


@principals_app.command()
def disable(principal: str, yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation")) -> None:
    """Disable a principal: its keys stop minting and its tokens stop introspecting active."""
    if not yes:
        typer.confirm(f"Disable principal {principal}?", abort=True)
    with_client(lambda c: c.disable_principal(principal))
    typer.echo(f"disabled {principal}")


def _fmt(items: list[str] | None) -> str:
    return "unconstrained" if items is None else ("deny-all" if not items else ",".join(items))
