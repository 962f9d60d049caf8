"""The console app as ``aegis up`` serves it, and the one line that tells the owner where it is.

On first start (no admin yet) the line carries a one-time setup link whose token is printed only
in that terminal, never logged: whoever opens it in a browser sets up the admin. Once an admin
exists, the line is just the address. ``aegis admin init`` stays for headless installs.
"""

from __future__ import annotations

from fastapi import FastAPI
from rich.console import Console as Terminal

from aegis.agent_root import AgentRuntime
from aegis.runtime import Context
from storage.crypto.keyring import Keyring
from storage.db import Database
from web.app import Parts, create_app
from web.auth.enrolment import AdminSetup
from web.config import ConsoleConfig
from web.setup_gate import SetupGate


def console_address(ctx: Context) -> str:
    host = ctx.settings.host
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{ctx.settings.port}"


def first_start_line(address: str, token: str | None) -> str:
    if token is None:
        return f"Aegis console: {address}"
    return f"Aegis console: {address} - first start, set up your admin at {address}/setup?token={token}"


async def console_app(
    ctx: Context,
    db: Database,
    keyring: Keyring,
    agent: AgentRuntime,
    parts: Parts | None = None,
) -> tuple[FastAPI, str]:
    """Build the console; also returns its line (with the setup link while no admin exists), which
    :func:`print_line` prints once the console answers."""
    config = ConsoleConfig(trusted_proxies=tuple(ctx.settings.trusted_proxies))
    gate: SetupGate | None = None
    token: str | None = None
    if not await AdminSetup(db, keyring, config).exists():
        gate, token = SetupGate.new()
    app = create_app(db, keyring=keyring, config=config, agent=agent.services, data=agent.data, setup=gate, parts=parts)
    return app, first_start_line(console_address(ctx), token)


def print_line(line: str, terminal: Terminal | None = None) -> None:
    # Straight to the terminal, not through logging: the token must never reach a log file.
    (terminal or Terminal()).print(line, soft_wrap=True, highlight=False)
