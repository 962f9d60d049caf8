"""Serving helpers shared by ``aegis up`` and ``aegis broker serve``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator

import h11
import httpx
import structlog
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

log = structlog.get_logger("aegis.serving")
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


HEADER_TIMEOUT = 10.0
MAX_HEADER_BYTES = 16 * 1024


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for the request head.

    uvicorn waits for request headers without a limit, so a client that connects and sends nothing,
    or sends its headers a byte at a time, holds a connection open for ever. Here the head of each
    request must arrive within ``header_timeout`` seconds of the connection (or of its first byte on
    a kept-alive connection), or the connection is closed. The body's deadline is the application's
    (``storage.http_guard``), which can answer 408 with its headers and audit row.
    """

    header_timeout = HEADER_TIMEOUT
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and self.conn.their_state is h11.IDLE:
            self._arm_head_timer()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = asyncio.get_running_loop().call_later(self.header_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            log.info("closing a connection whose request head did not arrive in time", client=self.client)
            self.transport.close()


def harden(config: uvicorn.Config) -> uvicorn.Config:
    """The request-head deadline and an explicit header size limit, on every server we run."""
    if config.http in ("auto", "h11"):
        config.http = GuardedH11Protocol
    config.h11_max_incomplete_event_size = MAX_HEADER_BYTES
    return config


class Server(uvicorn.Server):
    """uvicorn, stopped by SIGINT or SIGTERM as a normal end, with slow request heads cut off.

    uvicorn re-raises the stop signal once it has shut down, so Ctrl-C would end the process with
    status 130 and SIGTERM (``docker stop``) with 143. A requested stop is not a failure: exit 0.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(harden(config))

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

    def __init__(self, url: str, *, spawn: bool = True) -> None:
        self.url = url
        self.spawn = spawn  # False: the broker runs elsewhere (its own container); only wait for it
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, *, wait_seconds: float = 60.0) -> None:
        if self.spawn:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "aegis", "broker", "serve", start_new_session=True
            )
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as http:
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
