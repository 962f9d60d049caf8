"""Starts the MCP tool servers, keeps them healthy, and calls their tools.

Each server runs under its own supervisor task, which owns the MCP client context (anyio requires a
context to be entered and left in one task). A failed health check or a dead process restarts the
server with bounded backoff. Model-facing tool names are ``<server>__<tool>``.

Every time a server's tools are listed (its first start, every restart, every health check, and
every ``notifications/tools/list_changed`` it sends) the host hands the new list to ``on_tools``:
the gateway re-checks the pins there, so a changed definition is refused from that moment.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from mcp import Client, StdioServerParameters
from mcp.client.session import IncomingMessage
from mcp.client.subscriptions import ListenNotSupportedError
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import CONNECTION_CLOSED, CallToolResult, Tool, ToolListChangedNotification

log = structlog.get_logger("aegis.mcp_host")
SEP = "__"
ToolsListed = Callable[[str, list[Tool]], None]  # (server, its tools): called on every listing


@dataclass(frozen=True)
class ServerSpec:
    """How to reach one server: a subprocess over stdio (production) or an in-process instance (tests)."""

    name: str
    command: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    instance: Callable[[], MCPServer] | None = None

    def target(self) -> StdioServerParameters | MCPServer:
        if self.instance is not None:
            return self.instance()
        return StdioServerParameters(command=self.command[0], args=list(self.command[1:]), env=dict(self.env))


class ServerUnavailable(Exception):
    """A server is down or restarting; the call was not made."""


class _Supervised:
    def __init__(self, spec: ServerSpec, call_timeout: float, on_tools: ToolsListed | None = None) -> None:
        self.spec = spec
        self._on_tools = on_tools
        self._relists: set[asyncio.Task[None]] = set()
        self.client: Client | None = None
        self.tools: list[Tool] = []
        self.ready = asyncio.Event()
        self.restarts = 0
        self.last_error: str | None = None
        self._restart = asyncio.Event()
        self._closing = False
        self._timeout = call_timeout

    async def run(self) -> None:
        backoff = 0.5
        while not self._closing:
            try:
                async with Client(
                    self.spec.target(), read_timeout_seconds=self._timeout, message_handler=self._on_message
                ) as client:
                    self.listed(list((await client.list_tools()).tools))
                    self.client = client
                    self.last_error = None
                    self.ready.set()
                    backoff = 0.5
                    log.info("mcp server up", server=self.spec.name, tools=len(self.tools))
                    await self._serve(client)
            except Exception as exc:  # noqa: BLE001 - any failure of a child server means restart it
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("mcp server failed", server=self.spec.name, error=self.last_error)
            finally:
                self.client = None
                self.ready.clear()
                self._restart.clear()
            if self.stopping():
                break
            self.restarts += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)

    async def _serve(self, client: Client) -> None:
        """Wait for a restart while following the server's tool-list changes (2026-07-28 ``listen``;
        older servers send ``notifications/tools/list_changed``, handled by ``_on_message``)."""
        watcher = asyncio.create_task(self._watch(client))
        try:
            await self._restart.wait()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher

    async def _watch(self, client: Client) -> None:
        try:
            async with client.listen(tools_list_changed=True) as sub:
                async for _event in sub:
                    await self._relist()
        except ListenNotSupportedError:
            return
        except Exception as exc:  # noqa: BLE001 - a lost subscription means the listing may be stale
            self.restart(f"tool-list subscription lost: {type(exc).__name__}")

    def listed(self, tools: list[Tool]) -> None:
        """A fresh ``tools/list``: keep it and let the gateway re-check the pins."""
        self.tools = tools
        if self._on_tools is not None:
            self._on_tools(self.spec.name, tools)

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, ToolListChangedNotification):
            task = asyncio.create_task(self._relist())
            self._relists.add(task)
            task.add_done_callback(self._relists.discard)

    async def _relist(self) -> None:
        client = self.client
        if client is None:
            return
        try:
            self.listed(list((await client.list_tools()).tools))
        except Exception as exc:  # noqa: BLE001 - a server that cannot list its tools is restarted
            self.restart(f"tools/list after list_changed failed: {type(exc).__name__}")

    def stopping(self) -> bool:
        return self._closing

    def restart(self, reason: str) -> None:
        """Take the server out of service now; its supervisor reconnects."""
        self.last_error = reason
        self.client = None
        self.ready.clear()
        self._restart.set()

    def close(self) -> None:
        self._closing = True
        self._restart.set()


class McpHost:
    def __init__(
        self, specs: Sequence[ServerSpec], *, call_timeout: float = 60.0, on_tools: ToolsListed | None = None
    ) -> None:
        self._servers = {s.name: _Supervised(s, call_timeout, on_tools) for s in specs}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, *, wait: float = 60.0) -> None:
        self._tasks = [asyncio.create_task(s.run(), name=f"mcp:{n}") for n, s in self._servers.items()]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await asyncio.gather(*(s.ready.wait() for s in self._servers.values()))

    async def close(self) -> None:
        for s in self._servers.values():
            s.close()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(t, timeout=10)

    def status(self) -> dict[str, dict[str, Any]]:
        return {
            n: {"up": s.client is not None, "tools": len(s.tools), "restarts": s.restarts, "error": s.last_error}
            for n, s in self._servers.items()
        }

    def tools(self) -> list[tuple[str, Tool]]:
        """Every (server, tool) currently advertised by a running server."""
        return [(n, t) for n, s in self._servers.items() if s.client is not None for t in s.tools]

    @staticmethod
    def model_name(server: str, tool: str) -> str:
        return f"{server}{SEP}{tool}"

    @staticmethod
    def split_name(name: str) -> tuple[str, str]:
        server, sep, tool = name.partition(SEP)
        if not sep or not server or not tool:
            raise ServerUnavailable(f"not a server-prefixed tool name: {name!r}")
        return server, tool

    async def health_check(self, server: str, *, within: float = 5.0) -> bool:
        """List one server's tools (the modern protocol has no ping); a failure restarts it."""
        s = self._servers.get(server)
        if s is None or s.client is None:
            return False
        try:
            async with asyncio.timeout(within):
                tools = list((await s.client.list_tools()).tools)
        except Exception as exc:  # noqa: BLE001 - a check that fails in any way means restart
            s.restart(f"health check failed: {type(exc).__name__}")
            return False
        s.listed(tools)
        return True

    async def relist(self) -> None:
        """List every running server's tools again (a new session starts from what servers say now)."""
        for name in list(self._servers):
            await self.health_check(name)

    async def call(
        self,
        server: str,
        tool: str,
        arguments: dict[str, Any],
        *,
        meta: dict[str, Any] | None = None,
        wait: float = 10.0,
    ) -> CallToolResult:
        s = self._servers.get(server)
        if s is None:
            raise ServerUnavailable(f"no MCP server named {server!r}")
        if s.client is None:
            try:
                async with asyncio.timeout(wait):
                    await s.ready.wait()
            except TimeoutError:
                raise ServerUnavailable(f"MCP server {server} is not running ({s.last_error or 'starting'})") from None
        client = s.client
        if client is None:
            raise ServerUnavailable(f"MCP server {server} is not running")
        try:
            return await client.call_tool(tool, arguments, meta=meta)  # type: ignore[arg-type]
        except MCPError as exc:
            if exc.error.code != CONNECTION_CLOSED:
                raise
            s.restart("connection closed")
            raise ServerUnavailable(f"MCP server {server} went away during the call; it is restarting") from None
