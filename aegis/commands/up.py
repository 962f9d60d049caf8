"""``aegis up``: start Aegis on its embedded defaults."""

from __future__ import annotations

import asyncio
import os
import signal

import structlog
import uvicorn
from rich.console import Console

from aegis.agent_root import AgentRuntime, build_agent
from aegis.broker_root import ensure_admin_token
from aegis.console_root import console_keyring
from aegis.console_setup import console_app, print_line
from aegis.node_assets import ensure_node_assets
from aegis.runtime import Context
from aegis.serving import BrokerProcess, Server
from aegis.sidecars import Sidecars, deployed_env
from aegis.voice_root import attach_voice
from broker.tls import server_options
from integrations import Catalog
from storage import migrate
from storage.crypto.errors import MasterKeyError
from storage.crypto.master import generate_master_key_file, load_master_key
from tools.sidecar import SidecarSettings
from web.warmup import warm_demo

log = structlog.get_logger("aegis.up")

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def prepare(ctx: Context, console: Console) -> None:
    """Create the data folder and master key, and check the key file is private."""
    ctx.ensure_data_dir()
    path = ctx.settings.master_key_path
    if generate_master_key_file(path):
        # soft_wrap: never fold the path across lines, so it can be copied as printed.
        console.print(
            f"[bold]Created a new master key at {path.resolve()}[/bold] (mode 0600).\n"
            "Every encrypted field and stored secret depends on it. Back this file up now, "
            "somewhere offline and separate from your data backups: without it the data cannot be read, "
            "and anyone who has both can read everything.",
            soft_wrap=True,
        )
    try:
        load_master_key(path)  # validates format and permissions; the key is not kept by this process
    except MasterKeyError as exc:
        message = str(exc)
        if str(path) not in message:
            message = f"master key {path}: {message} (restore it from your backup)"
        raise MasterKeyError(message) from None


def sidecars(ctx: Context) -> Sidecars:
    """The installed integrations' helper processes (embedded only: in deploy each has its container)."""
    settings = SidecarSettings(
        data_dir=ctx.settings.data_dir.resolve(),
        broker_issuer=ctx.settings.resolved_broker_issuer,
        broker_jwks_url=ctx.settings.resolved_broker_url.rstrip("/") + "/.well-known/jwks.json",
        port=0,  # each sidecar gets a free port of its own
        demo=ctx.settings.demo_profile,
    )
    return Sidecars(Catalog(()) if ctx.settings.production else ctx.catalog, settings)


async def serve(ctx: Context, console: Console | None = None) -> None:
    db = ctx.database()
    broker = BrokerProcess(
        ctx.settings.resolved_broker_url,
        spawn=ctx.settings.broker_url is None,
        verify=ctx.settings.broker_verify,
    )
    helpers = sidecars(ctx)
    for problem in helpers.problems():
        log.warning("sidecar unavailable", problem=problem)
        if console is not None:
            console.print(f"Not started: {problem}", markup=False, soft_wrap=True)
    try:
        await migrate.upgrade_owned(ctx.database_url, ctx.migration_database_url)
        log.info("migrations applied", revision=await migrate.current(db))
        await broker.start()
        log.info("broker ready", url=broker.url)
        await helpers.start(wait_seconds=0)  # supervised from here; the start of Aegis does not wait
        keyring = await console_keyring(ctx)
        server_env = deployed_env(ctx.catalog, os.environ) if ctx.settings.production else helpers.server_env()
        agent = await build_agent(ctx, db, keyring, server_env=server_env)
        app, line = await console_app(
            ctx,
            db,
            keyring,
            agent,
            parts=lambda: (
                {"broker": broker.status()} | {f"mcp:{n}": s for n, s in agent.host.status().items()} | helpers.status()
            ),
        )
        # The speech models load in the background: the console answers at once, voice a few seconds later.
        voice = asyncio.create_task(attach_voice(ctx, app, db, keyring), name="voice-load")
        config = uvicorn.Config(
            app,
            host=ctx.settings.host,
            port=ctx.settings.port,
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,  # the console decides which proxies to trust (settings.trusted_proxies)
            lifespan="on",
            **server_options(ctx.settings.tls_cert_file, ctx.settings.tls_key_file),
        )
        scheme = "https" if ctx.settings.tls_cert_file is not None else "http"
        log.info("aegis starting", url=f"{scheme}://{ctx.settings.host}:{ctx.settings.port}")
        server = Server(config)
        announce = asyncio.create_task(_announce(server, line, agent if ctx.settings.demo_profile else None))
        try:
            await server.serve()
        finally:
            announce.cancel()
            voice.cancel()
            await agent.close()
    finally:
        await helpers.stop()
        await broker.stop()
        await db.dispose()
    log.info("aegis stopped")


async def _announce(server: Server, line: str, demo: AgentRuntime | None) -> None:
    """The console's address (and first-start setup link) as the last line of the start, once the
    console answers; then, in the demo profile, the sandboxes connected and synced once."""
    await server.ready.wait()
    print_line(line)
    if demo is not None:
        await warm_demo(demo.data)


def run(ctx: Context, console: Console) -> None:
    note = ensure_node_assets()
    if note:
        console.print(note, markup=False)
    if not ctx.settings.production:
        # Embedded: this process prepares the folder and key files. In production the broker's own
        # container holds the master key and every key file is a Docker secret.
        prepare(ctx, console)
        ensure_admin_token(ctx)
    asyncio.run(serve(ctx, console))
