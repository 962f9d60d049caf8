"""``aegis admin init``: the single admin account (passphrase, TOTP, recovery codes)."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import segno
import typer
from rich.console import Console

from aegis.console_root import console_keyring
from aegis.runtime import Context, build_context
from broker.client import BrokerClientError
from storage.crypto.keyring import Keyring
from storage.db import Database
from web.auth.enrolment import AdminSetup
from web.auth.passwords import WeakPassphrase
from web.config import ConsoleConfig

app = typer.Typer(help="The console's admin account.", no_args_is_help=True)
T = TypeVar("T")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TRIES = 3


class BrokerUnreachable(Exception):
    pass


def load_keyring(ctx: Context) -> Keyring:
    """The console's auth and audit keys, from the running broker (tests replace this)."""
    try:
        return asyncio.run(console_keyring(ctx))
    except httpx.TransportError as exc:
        raise BrokerUnreachable(ctx.settings.resolved_broker_url) from exc


def _fail(console: Console, message: str) -> None:
    console.print(message, style="red", markup=False, soft_wrap=True)
    raise typer.Exit(1)


@app.command()
def init() -> None:
    """Set up (or replace) the admin: email, passphrase, authenticator app, recovery codes."""
    console = Console()
    ctx = build_context()
    try:
        keyring = load_keyring(ctx)
    except BrokerUnreachable as exc:
        _fail(
            console,
            f"The credential broker is not reachable at {exc}. Start Aegis with `aegis up` in another "
            "terminal, then run `aegis admin init` again.",
        )
        return
    except BrokerClientError as exc:
        _fail(console, f"The broker refused the console's key request: {exc}")
        return
    db = ctx.database()
    run_init(AdminSetup(db, keyring, ConsoleConfig()), db, console)


def run_init(setup: AdminSetup, db: Database, console: Console) -> None:
    """The interactive flow; every secret is typed at a hidden prompt, never passed as an argument.

    Prompts block, so each database step runs in its own short event loop, and the engine's pool is
    emptied before that loop closes (pooled connections belong to the loop that opened them).
    """

    def run(step: Callable[[], Awaitable[T]]) -> T:
        async def once() -> T:
            try:
                return await step()
            finally:
                await db.dispose()

        return asyncio.run(once())

    if run(setup.exists):
        console.print("An admin account exists. Confirm it is you first.")
        current = typer.prompt("Current passphrase", hide_input=True)
        code = typer.prompt("Authenticator code or recovery code", hide_input=True)
        if not run(lambda: setup.verify_current(current, code)):
            _fail(console, "Invalid credentials (or too many attempts). Nothing was changed.")
    default = run(setup.current_email)
    email = _ask_email(console, default)
    enrolment = None
    for _ in range(TRIES):
        passphrase = typer.prompt("New passphrase", hide_input=True, confirmation_prompt="Repeat the passphrase")
        try:
            enrolment = setup.start(email, passphrase)
            break
        except WeakPassphrase as exc:
            console.print(f"Weak passphrase: {exc}.", style="yellow", markup=False)
    if enrolment is None:
        _fail(console, "No acceptable passphrase was given. Nothing was changed.")
        return
    _show_enrolment(console, enrolment.uri)
    step = None
    for _ in range(TRIES):
        step = enrolment.confirm(typer.prompt("Code shown by the app"), setup.now())
        if step is not None:
            break
        console.print("That code does not match. Check the device's clock and try the next code.", style="yellow")
    if step is None:
        _fail(console, "The authenticator was not confirmed. Nothing was changed.")
        return
    confirmed = step
    codes = run(lambda: setup.finish(enrolment, confirmed))
    console.print("\n[bold]Recovery codes[/bold] (each works once, instead of an authenticator code).")
    console.print("They are shown only now. Write them down and keep them apart from this machine:\n")
    for c in codes:
        console.print(f"  {c}", markup=False)
    console.print(f"\nAdmin account ready for {email}. Log in at the console.", markup=False, soft_wrap=True)


def _ask_email(console: Console, default: str | None) -> str:
    for _ in range(TRIES):
        kwargs: dict[str, Any] = {"default": default} if default else {}
        email = str(typer.prompt("Admin email", **kwargs)).strip()
        if _EMAIL.match(email) and len(email) <= 320:
            return email
        console.print("That does not look like an email address.", style="yellow")
    _fail(console, "No valid email address was given.")
    return ""


def _show_enrolment(console: Console, uri: str) -> None:
    qr = io.StringIO()
    segno.make(uri, error="m").terminal(out=qr, compact=True)
    console.print("\nScan this QR code with your authenticator app, or enter the URI by hand:\n")
    console.print(qr.getvalue(), markup=False, highlight=False, crop=False, no_wrap=True)
    console.print(uri, markup=False, soft_wrap=True)
    console.print("Anyone who sees this code or URI can generate your codes: clear the screen afterwards.\n")
