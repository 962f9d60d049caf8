"""``aegis up``: start Aegis on its embedded defaults."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

import structlog
import uvicorn
from rich.console import Console

from aegis.runtime import Context
from storage import migrate
from storage.crypto.errors import MasterKeyError
from storage.crypto.master import generate_master_key_file, load_master_key
from web.app import create_app

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


class _Server(uvicorn.Server):
    """uvicorn, stopped by SIGINT or SIGTERM as a normal end.

    uvicorn re-raises the stop signal once it has shut down, so Ctrl-C would end the process with
    status 130 and SIGTERM (``docker stop``) with 143. A requested stop is not a failure: exit 0.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


async def serve(ctx: Context) -> None:
    db = ctx.database()
    try:
        await migrate.upgrade(db)
        log.info("migrations applied", revision=await migrate.current(db))
        config = uvicorn.Config(
            create_app(db),
            host=ctx.settings.host,
            port=ctx.settings.port,
            log_config=None,
            access_log=False,
            server_header=False,
            lifespan="on",
        )
        log.info("aegis starting", url=f"http://{ctx.settings.host}:{ctx.settings.port}")
        await _Server(config).serve()
    finally:
        await db.dispose()
    log.info("aegis stopped")


def run(ctx: Context, console: Console) -> None:
    prepare(ctx, console)
    asyncio.run(serve(ctx))
