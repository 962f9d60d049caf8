"""``aegis up``: start Aegis on its embedded defaults."""

from __future__ import annotations

import asyncio

import structlog
import uvicorn
from rich.console import Console

from aegis.runtime import Context
from storage import migrate
from storage.crypto.master import generate_master_key_file, load_master_key
from web.app import create_app

log = structlog.get_logger("aegis.up")


def prepare(ctx: Context, console: Console) -> None:
    """Create the data folder and master key, and check the key file is private."""
    ctx.ensure_data_dir()
    path = ctx.settings.master_key_path
    if generate_master_key_file(path):
        console.print(
            f"[bold]Created a new master key at {path.resolve()}[/bold] (mode 0600).\n"
            "Every encrypted field and stored secret depends on it. Back this file up now, "
            "somewhere offline and separate from your data backups: without it the data cannot be read, "
            "and anyone who has both can read everything."
        )
    load_master_key(path)  # validates format and permissions; the key is not kept by this process


async def serve(ctx: Context) -> None:
    db = ctx.database()
    await migrate.upgrade(db)
    log.info("migrations applied", revision=await migrate.current(db))
    app = create_app(db)
    config = uvicorn.Config(
        app,
        host=ctx.settings.host,
        port=ctx.settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    log.info("aegis listening", url=f"http://{ctx.settings.host}:{ctx.settings.port}")
    await server.serve()
    log.info("aegis stopped")


def run(ctx: Context, console: Console) -> None:
    prepare(ctx, console)
    asyncio.run(serve(ctx))
