"""Serving helpers shared by ``aegis up`` and ``aegis broker serve``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import ssl
import sys
from collections.abc import Iterator
from typing import Any

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
        self.ready = asyncio.Event()  # set once it listens and its app has started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.ready.set()

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
    """The broker as a child process: the only process that reads the master key.

    After :meth:`start` a supervisor watches it: if it exits (a crash, ``kill -9``), or stops
    answering /health ``hung_after`` probes in a row (it is then killed), it is started again after
    a backoff that doubles from ``backoff`` up to ``max_backoff`` while it keeps failing. When it
    runs elsewhere (``spawn=False``, its own container) the supervisor only probes its /health, so
    :meth:`status` still says whether it is up. A sealed broker answers, and is left sealed.
    """

    def __init__(
        self,
        url: str,
        *,
        spawn: bool = True,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        probe_every: float = 2.0,
        hung_after: int = 3,
        command: tuple[str, ...] = (sys.executable, "-m", "aegis", "broker", "serve"),
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.url = url
        self.verify = verify
        self.spawn = spawn  # False: the broker runs elsewhere (its own container); only wait for it
        self.proc: asyncio.subprocess.Process | None = None
        self.state = "starting"  # starting, up, restarting, sealed, down, stopped
        self.restarts = 0
        self.last_error: str | None = None
        self._backoff = (backoff, max_backoff)
        self._probe_every = probe_every
        self._hung_after = hung_after
        self._command = command
        self._stop = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None

    def status(self) -> dict[str, Any]:
        return {"state": self.state, "up": self.state == "up", "restarts": self.restarts, "error": self.last_error}

    async def start(self, *, wait_seconds: float = 60.0) -> None:
        await self._launch(wait_seconds)
        self.state = "up"
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise(wait_seconds))

    async def _launch(self, wait_seconds: float) -> None:
        if self.spawn:
            self.proc = await asyncio.create_subprocess_exec(*self._command, start_new_session=True)
        async with httpx.AsyncClient(base_url=self.url, timeout=2, verify=self.verify) as http:
            try:
                async with asyncio.timeout(wait_seconds):
                    await self._wait_healthy(http)
            except TimeoutError:
                await self._end_child()
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
                    await self._end_child()
                    self.state = "sealed"
                    raise ChildExited(f"the broker is sealed: {body.get('reason')}")
            await asyncio.sleep(0.1)

    async def _supervise(self, wait_seconds: float) -> None:
        if not self.spawn:
            await self._probe()
            return
        delay = self._backoff[0]
        while not self._stop.is_set():
            proc = self.proc
            assert proc is not None
            began = asyncio.get_running_loop().time()
            await self._watch(proc)
            if self._stop.is_set():
                return
            if asyncio.get_running_loop().time() - began > 60:
                delay = self._backoff[0]  # it had been running well: start over from the short wait
            self.state, self.last_error = "restarting", f"exited with status {proc.returncode}"
            log.warning("the broker exited; restarting it", status=proc.returncode, in_seconds=delay)
            while not self._stop.is_set():
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff[1])
                if self._stop.is_set():
                    return
                self.restarts += 1
                try:
                    await self._launch(wait_seconds)
                except (ChildExited, OSError) as exc:
                    self.state = "sealed" if self.state == "sealed" else "restarting"
                    self.last_error = str(exc)
                    log.error("the broker did not come back; retrying", error=str(exc), in_seconds=delay)
                    continue
                self.state, self.last_error = "up", None
                log.info("broker restarted", restarts=self.restarts)
                break

    async def _watch(self, proc: asyncio.subprocess.Process) -> None:
        """Return when ``proc`` has exited; kill it first if it stops answering /health."""
        misses = 0
        async with httpx.AsyncClient(base_url=self.url, timeout=self._probe_every, verify=self.verify) as http:
            while proc.returncode is None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._probe_every):
                        await proc.wait()
                        return
                try:
                    body = (await http.get("/health")).json()
                except httpx.TransportError:  # no answer at all (a sealed broker still answers)
                    misses += 1
                except ValueError:
                    misses = 0
                else:
                    misses = 0
                    self.state = "sealed" if body.get("sealed") else "up"  # ``aegis broker seal``: left sealed
                if misses >= self._hung_after and proc.returncode is None:
                    log.error("the broker stopped answering; killing it", misses=misses)
                    proc.kill()
                    await proc.wait()

    async def _probe(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as http:
            while not self._stop.is_set():
                await asyncio.sleep(self._probe_every)
                try:
                    body = (await http.get("/health")).json()
                    self.state = "sealed" if body.get("sealed") else "up"
                    self.last_error = body.get("reason") if body.get("sealed") else None
                except (httpx.HTTPError, ValueError) as exc:
                    self.state, self.last_error = "down", type(exc).__name__

    async def stop(self, *, grace: float = 15.0) -> None:
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await self._end_child(grace=grace)
        self.state = "stopped"

    async def _end_child(self, *, grace: float = 15.0) -> None:
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
