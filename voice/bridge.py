"""The voice session's agent: the same chat service as the chat page, on one conversation."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from agent.chat import ChatService
from agent.conversations import ConversationStore
from agent.loop import EventSink

INTERRUPTED_EMPTY = "(Interrupted by the owner before anything was said.)"
VOICE_NOTE = (
    "The owner is talking to you by voice on their phone and hears your answer read aloud: answer in a few "
    "short spoken sentences, the most useful one first; no lists, tables, markdown or URLs. A voice turn never "
    "approves anything: side effects wait for the owner's approval in the console."
)


def _with_text(content: Any, text: str) -> list[dict[str, Any]]:
    """The assistant blocks with their prose replaced by ``text`` (tool-use blocks are kept)."""
    blocks = content if isinstance(content, list) else [{"type": "text", "text": str(content)}]
    kept = [b for b in blocks if not (isinstance(b, dict) and b.get("type") == "text")]
    return [{"type": "text", "text": text}, *kept]


@dataclass
class ChatVoiceAgent:
    chat: ChatService
    conversations: ConversationStore
    conversation_id: str
    _before: int = -1

    async def run(self, text: str, events: EventSink) -> None:
        self._before = len(await self.conversations.messages(self.conversation_id, include_compacted=True))
        await self.chat.turn(self.conversation_id, text, events, channel=VOICE_NOTE)

    async def interrupted(self, text: str, heard: str) -> None:
        cid = self.conversation_id
        spoken = heard or INTERRUPTED_EMPTY
        with contextlib.suppress(KeyError):
            msgs = await self.conversations.messages(cid, include_compacted=True)
            if self._before < 0 or len(msgs) == self._before:
                # The turn was cancelled before it stored anything: store the owner's words and what was heard.
                reply = [{"type": "text", "text": spoken}]
                await self.conversations.append(
                    cid, [{"role": "user", "content": text}, {"role": "assistant", "content": reply}], [None, None]
                )
                return
            for m in reversed(msgs[self._before :]):
                if m.role == "assistant":
                    await self.conversations.rewrite(cid, m.id, _with_text(m.content, spoken))
                    return
