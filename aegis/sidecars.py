"""Sidecars: the helper processes integrations declare in their manifests (``sidecar``), started by
``aegis up`` and supervised like the broker: restarted when they exit, after a backoff that doubles
from ``backoff`` to ``max_backoff`` while they keep failing (reset after a minute of good running),
probed over HTTP so /health says whether each one answers. A sidecar that cannot start on this
machine (its factory raised :class:`SidecarUnavailable`) is reported, with what is missing, in the
terminal and in /health (as ``optional``: Aegis is not degraded by what the owner never installed);
the rest of Aegis starts without it. Each sidecar gets a free loopback port picked at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import json
import signal
import socket
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import structlog

from integrations import Catalog, Manifest
from tools.sidecar import SidecarSettings, SidecarSpec, SidecarUnavailable

log = structlog.get_logger("aegis.sidecars")
GOOD_RUN_SECONDS = 60.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def is_problem(line: str) -> bool:
    """A sidecar's log line worth the owner's attention: one marked as a warning or an error, an error
    or refusal event, a server error, or anything that is not one of its structured lines (a crash's
    stack trace)."""
    try:
        entry = json.loads(line)
    except ValueError:
        return True
    if not isinstance(entry, dict):
        return True
    event, status = str(entry.get("event", "")), entry.get("status")
    if entry.get("level") in ("warn", "warning", "error"):
        return True
    return any(word in event for word in ("error", "fail", "refused")) or (isinstance(status, int) and status >= 500)


def load_factory(manifest: Manifest) -> Callable[[SidecarSettings], SidecarSpec]:
    assert manifest.sidecar is not None
    module, function = manifest.sidecar.factory.split(":", 1)
    factory: Callable[[SidecarSettings], SidecarSpec] = getattr(importlib.import_module(module), function)
    return factory


class SidecarProcess:
    """One sidecar as a child process, restarted with backoff while Aegis runs."""

    def __init__(
        self,
        name: str,
        title: str,
        spec: SidecarSpec,
        *,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        probe_every: float = 15.0,
    ) -> None:
        self.name, self.title, self.spec = name, title, spec
        self.proc: asyncio.subprocess.Process | None = None
        self.state = "starting"  # starting, up, not_answering, restarting, stopped
        self.restarts = 0
        self.last_error: str | None = None
        self._backoff = (backoff, max_backoff)
        self._probe_every = probe_every
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._relay: asyncio.Task[None] | None = None

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "up": self.state == "up",
            "restarts": self.restarts,
            "error": self.last_error,
            "title": self.title,
        }

    async def start(self, *, wait_seconds: float = 15.0) -> None:
        """Launch it and wait (at most ``wait_seconds``) for its first answer; it is supervised after."""
        self.spec.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.spec.data_dir.chmod(0o700)
        await self._launch()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_seconds):
                while not await self._answers() and self._running():  # noqa: ASYNC110 - polls HTTP
                    await asyncio.sleep(0.2)
        self._task = asyncio.get_running_loop().create_task(self._supervise())

    def _running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def _launch(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.spec.argv,
            cwd=self.spec.cwd,
            env=dict(self.spec.env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        self._relay = asyncio.get_running_loop().create_task(self._relay_lines(self.proc.stdout))
        self.state = "starting"
        log.info("sidecar started", sidecar=self.name, pid=self.proc.pid)

    async def _relay_lines(self, stream: asyncio.StreamReader) -> None:
        """The sidecar's own log lines into ours: routine ones at debug level, problems as warnings,
        so the terminal shows what needs the owner and nothing else."""
        while line := await stream.readline():
            text = line.decode("utf-8", errors="replace").rstrip()
            if text:
                say = log.warning if is_problem(text) else log.debug
                say("sidecar says", sidecar=self.name, line=text[:2000])

    async def _answers(self) -> bool:
        try:
            async with httpx.AsyncClient(timeout=2, trust_env=False) as http:
                await http.get(self.spec.url + self.spec.probe_path)
        except httpx.HTTPError:
            if self._running():
                self.state = "not_answering" if self.state == "up" else self.state
            return False
        self.state, self.last_error = "up", None
        return True

    async def _supervise(self) -> None:
        delay = self._backoff[0]
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            proc = self.proc
            assert proc is not None
            began = loop.time()
            while proc.returncode is None and not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._probe_every):
                        await proc.wait()
                        break
                await self._answers()
            if self._stop.is_set():
                return
            if loop.time() - began > GOOD_RUN_SECONDS:
                delay = self._backoff[0]
            self.state, self.last_error = "restarting", f"exited with status {proc.returncode}"
            log.warning("sidecar exited; restarting it", sidecar=self.name, status=proc.returncode, in_seconds=delay)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stop.wait()
                    return
            delay = min(delay * 2, self._backoff[1])
            self.restarts += 1
            try:
                await self._launch()
            except OSError as exc:
                self.last_error = f"could not start: {type(exc).__name__}"
                log.error("sidecar did not start", sidecar=self.name, error=type(exc).__name__)
                self.proc = await _exited()

    async def stop(self, *, grace: float = 10.0) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        proc = self.proc
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(grace):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        self.state = "stopped"


async def _exited() -> asyncio.subprocess.Process:
    """A process that has already ended, so the supervisor's loop backs off and tries again."""
    proc = await asyncio.create_subprocess_exec("true")
    await proc.wait()
    return proc


class Sidecars:
    """Every installed integration's sidecar: started, supervised, reported and stopped together."""

    def __init__(self, catalog: Catalog, settings: SidecarSettings, **process_options: Any) -> None:
        self.running: dict[str, SidecarProcess] = {}
        self.unavailable: dict[str, SidecarUnavailable] = {}
        self._specs: dict[str, tuple[str, SidecarSpec]] = {}
        self._options = process_options
        for manifest in catalog:
            if manifest.sidecar is None:
                continue
            try:
                spec = load_factory(manifest)(dataclasses.replace(settings, port=free_port()))
            except SidecarUnavailable as exc:
                self.unavailable[manifest.name] = exc
                continue
            self._specs[manifest.name] = (manifest.sidecar.title, spec)

    def problems(self) -> list[str]:
        """One line each, for the terminal: what is missing for which integration."""
        return [f"{name}: {exc.message}." for name, exc in sorted(self.unavailable.items())]

    def server_env(self) -> Mapping[str, Mapping[str, str]]:
        """What each integration's MCP server is told about its sidecar (e.g. where it listens)."""
        return {name: spec.server_env for name, (_, spec) in self._specs.items()}

    async def start(self, *, wait_seconds: float = 15.0) -> None:
        for name, (title, spec) in self._specs.items():
            process = SidecarProcess(name, title, spec, **self._options)
            self.running[name] = process
            await process.start(wait_seconds=wait_seconds)

    def status(self) -> dict[str, dict[str, Any]]:
        found = {f"sidecar:{n}": p.status() for n, p in self.running.items()}
        for name, exc in self.unavailable.items():
            # Its prerequisites are not installed: said plainly, without marking Aegis degraded.
            found[f"sidecar:{name}"] = {
                "state": "unavailable",
                "up": False,
                "optional": True,
                "error": exc.message,
                "missing": exc.missing,
            }
        return found

    async def stop(self) -> None:
        for process in self.running.values():
            await process.stop()


def deployed_env(catalog: Catalog, environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Production: each sidecar runs in its own container, so its integration's server learns where
    to reach it from the console's environment (the names its manifest declares, and only those)."""
    out: dict[str, dict[str, str]] = {}
    for manifest in catalog:
        if manifest.sidecar is None:
            continue
        found = {n: environ[n] for n in manifest.sidecar.deployed_env if n in environ}
        if found:
            out[manifest.name] = found
    return out
