"""Serving helpers shared by ``aegis up`` and ``aegis broker serve``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
import sys
from collections.abc import Iterator

import httpx
import structlog
import uvicorn

log = structlog.get_logger("aegis.serving")
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Server(uvicorn.Server):
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


class ChildExited(RuntimeError):
    pass


class BrokerProcess:
    """The broker as a child process: the only process that reads the master key."""

    def __init__(self, url: str, *, spawn: bool = True, verify: ssl.SSLContext | bool = True) -> None:
        self.url = url
        self.verify = verify
        self.spawn = spawn  # False: the broker runs elsewhere (its own container); only wait for it
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, *, wait_seconds: float = 60.0) -> None:
        if self.spawn:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "aegis", "broker", "serve", start_new_session=True
            )
        async with httpx.AsyncClient(base_url=self.url, timeout=2, verify=self.verify) as http:
            try:
                async with asyncio.timeout(wait_seconds):
                    await self._wait_healthy(http)
            except TimeoutError:
                await self.stop()
                raise ChildExited(f"the broker did not become healthy within {wait_seconds:.0f} s") from None

    async def _wait_healthy(self, http: httpx.AsyncClient) -> None:
        while True:
            if self.proc is not None and self.proc.returncode is not None:
                raise ChildExited(f"the broker exited with status {self.proc.returncode}; see its log above")
            with contextlib.suppress(httpx.TransportError):
                r = await http.get("/health")
                body = r.json()
                if r.status_code == 200 and not body.get("sealed", True):
                    return
                if body.get("sealed"):
                    await self.stop()
                    raise ChildExited(f"the broker is sealed: {body.get('reason')}")
            await asyncio.sleep(0.1)

    async def stop(self, *, grace: float = 15.0) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(grace):
                await proc.wait()
        except TimeoutError:
            log.warning("the broker did not stop in time; killing it")
            proc.kill()
            await proc.wait()
