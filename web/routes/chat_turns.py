"""Running chat turns: one asyncio task per conversation, its events buffered for the browser.

A turn's events (text, tool_call, tool_result, stopped, done, failed, then ``end``) are kept in
order, so an EventSource that connects late, or reconnects with ``Last-Event-ID``, replays what
it missed. Stopping cancels the task; if the cancelled turn stored nothing, the owner's message is
stored with a short "stopped" reply, so the history stays a valid user/assistant alternation with
no tool call left without its result.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import structlog

from agent.loop import TurnEvent
from agent.services import AgentServices
from web.routes.chat_view import event_view

log = structlog.get_logger("aegis.web.chat")
STOPPED_REPLY = "(Stopped by the owner before the answer was finished.)"
STOP_WAIT = 10.0
KEEP_FINISHED = 20  # finished turns whose events a late page can still replay


class TurnBusy(Exception):
    """A turn is already running in this conversation."""


@dataclass
class Turn:
    conversation_id: str
    text: str
    id: str = field(default_factory=lambda: secrets.token_urlsafe(8))
    events: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False
    task: asyncio.Task[None] | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        self.events.append({"id": len(self.events) + 1, "kind": kind, "data": data})
        wake, self._wake = self._wake, asyncio.Event()
        wake.set()

    async def follow(self, after: int, *, heartbeat: float = 15.0) -> AsyncIterator[dict[str, Any] | None]:
        """Events with id > ``after`` as they come; ``None`` is a heartbeat. Ends after ``end``."""
        while True:
            wake = self._wake
            while after < len(self.events):
                after += 1
                yield self.events[after - 1]
            if self.finished:
                return
            try:
                async with asyncio.timeout(heartbeat):
                    await wake.wait()
            except TimeoutError:
                yield None


class TurnManager:
    def __init__(self, agent: AgentServices) -> None:
        self._agent = agent
        self._turns: dict[str, Turn] = {}

    def latest(self, conversation_id: str) -> Turn | None:
        return self._turns.get(conversation_id)

    def running(self, conversation_id: str) -> Turn | None:
        turn = self._turns.get(conversation_id)
        return turn if turn is not None and not turn.finished else None

    def start(self, conversation_id: str, text: str) -> Turn:
        if self.running(conversation_id) is not None:
            raise TurnBusy(conversation_id)
        turn = Turn(conversation_id, text)
        self._turns.pop(conversation_id, None)
        self._turns[conversation_id] = turn  # newest last: pruning drops the oldest finished turns
        finished = [cid for cid, t in self._turns.items() if t.finished]
        for cid in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._turns[cid]
        turn.task = asyncio.create_task(self._run(turn), name=f"chat-turn:{conversation_id}")
        return turn

    async def stop(self, conversation_id: str) -> bool:
        turn = self.running(conversation_id)
        if turn is None or turn.task is None:
            return False
        turn.task.cancel()
        await asyncio.wait({turn.task}, timeout=STOP_WAIT)
        return True

    async def close(self) -> None:
        tasks = [t.task for t in self._turns.values() if t.task is not None and not t.finished]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_WAIT)

    async def _stored(self, cid: str) -> int:
        return len(await self._agent.conversations.messages(cid, include_compacted=True))

    async def _run(self, turn: Turn) -> None:
        cid = turn.conversation_id

        async def sink(event: TurnEvent) -> None:
            turn.publish(event.kind, event_view(event.kind, event.data))

        before = -1
        try:
            before = await self._stored(cid)
            await self._agent.chat.turn(cid, turn.text, sink)
        except asyncio.CancelledError:
            await asyncio.shield(self._settle_stopped(turn, before))
            turn.publish("stopped", {"reason": "Stopped by you."})
            raise
        except Exception as exc:
            log.exception("chat turn failed", conversation=cid)
            turn.publish("failed", {"message": f"The turn failed ({type(exc).__name__}). Nothing more was done."})
        finally:
            turn.finished = True
            turn.publish("end", {})

    async def _settle_stopped(self, turn: Turn, before: int) -> None:
        """Store the owner's message and a 'stopped' reply, unless the turn got as far as storing."""
        cid = turn.conversation_id
        with contextlib.suppress(KeyError):
            if before < 0 or await self._stored(cid) != before:
                return
            stopped = [{"type": "text", "text": STOPPED_REPLY}]
            await self._agent.conversations.append(
                cid, [{"role": "user", "content": turn.text}, {"role": "assistant", "content": stopped}], [None, None]
            )
