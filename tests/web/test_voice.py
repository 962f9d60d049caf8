"""Voice end to end over the real WebSocket: WAV files made offline by the offline TTS are streamed
as a phone would (16 kHz PCM frames), through the real VAD, Whisper, chat service, gateway, MCP
servers and TTS. Only the model is scripted."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from agent.model import Message, ScriptedModel, ScriptedStep, ToolCall, ToolSpec
from storage.crypto.field import FieldCipher
from storage.models.audit import AuditRow
from storage.models.voice import VoiceTranscriptRow
from tests.voice.engines import frames, shared_engines, spoken, with_silence
from tests.web.agent_stack import (
    REPLY_BODY,
    AgentConsole,
    agent_console,
    assistant_script,
    form_headers,
    post_form,
    post_recording,
)
from tests.web.conftest import FakeClock, cookie_header
from voice.bridge import VOICE_NOTE
from voice.session import APPROVAL_SENTENCE
from voice.store import TranscriptStore
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio
STORY = (
    "Here is the long version of your day. You have three meetings this morning, starting with the design "
    "review at nine, then a call with the bank about the mortgage, and lunch with Sam at noon. In the afternoon "
    "there is a dentist appointment at three, and the report for Dana is due by five. Tonight the weather turns "
    "cold, so take a coat when you leave the office."
)


def _owner_text(messages: Sequence[Message]) -> tuple[str, int]:
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        if m["role"] == "user" and isinstance(m["content"], str):
            return m["content"].lower(), len(messages) - 1 - i
    return "", 0


def _call(name: str, args: dict[str, Any]) -> ScriptedStep:
    return ScriptedStep(tool_calls=[ToolCall(f"toolu_{uuid.uuid4().hex[:20]}", name, args)])


def voice_script(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> ScriptedStep:
    """Balances as in chat; "day" gets a long answer; "reply" drafts a reply to the last mail (a side effect)."""
    text, steps = _owner_text(messages)
    if "day" in text:
        return ScriptedStep(text=STORY)
    if "reply" in text:
        if steps == 0:
            return ScriptedStep(
                tool_calls=[
                    ToolCall(f"toolu_{uuid.uuid4().hex[:20]}", "gmail__search", {"query": "from:dana", "limit": 5})
                ]
            )
        results = [
            json.loads(b["content"])
            for b in messages[-1]["content"]
            if isinstance(b, dict) and b.get("type") == "tool_result"
        ]
        if results and results[0].get("status") == "ok" and "messages" in results[0].get("result", {}):
            last = results[0]["result"]["messages"][0]
            args = {
                "to": [last["from"].split("<")[-1].rstrip(">")],
                "subject": "Re: " + last["subject"],
                "body": REPLY_BODY,
                "thread_id": last["thread_id"],
            }
            return ScriptedStep(tool_calls=[ToolCall(f"toolu_{uuid.uuid4().hex[:20]}", "gmail__send", args)])
        return ScriptedStep(text="I drafted the reply.")
    return assistant_script(messages, tools)


@dataclass
class Heard:
    """Everything the phone received."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    def reply(self) -> str:
        return "".join(m["text"] for m in self.of("reply"))


async def receive_until(ws: ClientConnection, heard: Heard, stop: Any) -> dict[str, Any]:
    try:
        async with asyncio.timeout(60):
            while True:
                data = await ws.recv()
                if isinstance(data, bytes):
                    heard.audio += data
                    continue
                message: dict[str, Any] = json.loads(data)
                heard.messages.append(message)
                if stop(message):
                    return message
    except TimeoutError:
        raise AssertionError(f"the phone waited in vain; it received {heard.messages}") from None


async def say(ws: ClientConnection, samples: np.ndarray[Any, Any]) -> None:
    for frame in frames(samples):
        await ws.send(frame)


def idle(m: dict[str, Any]) -> bool:
    return m == {"type": "state", "state": "listening"}


@pytest.fixture
async def stack(
    db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig
) -> AsyncIterator[AgentConsole]:
    async with agent_console(db_url, tmp_path, clock, console_config, ScriptedModel(voice_script)) as ac:
        app = ac.console.app
        app.state.voice = shared_engines()
        app.state.voice_store = TranscriptStore(ac.console.db, FieldCipher(ac.console.keyring))
        yield ac


def ws_url(stack: AgentConsole) -> str:
    return stack.console.url.replace("http://", "ws://") + "/voice/ws"


def open_socket(stack: AgentConsole, cookies: dict[str, str], origin: str | None = None) -> connect:
    return connect(
        ws_url(stack),
        origin=origin or stack.console.url,  # type: ignore[arg-type]
        additional_headers=cookie_header(cookies),
        max_size=2**22,
    )


async def test_spoken_question_gets_transcript_answer_and_audio(stack: AgentConsole) -> None:
    c = stack.console
    cookies = await c.browser_login()
    heard = Heard()
    async with open_socket(stack, cookies) as ws:
        await ws.send(json.dumps({"type": "hello", "rate": 16000, "mode": "hands-free"}))
        await receive_until(ws, heard, idle)
        await say(ws, with_silence(spoken("What is my balance?")))
        await receive_until(ws, heard, lambda m: m["type"] == "timing")
        await receive_until(ws, heard, idle)

    states = [m["state"] for m in heard.of("state")]
    assert states[:4] == ["listening", "thinking", "speaking", "listening"]
    (said,) = heard.of("transcript")
    assert "balance" in said["text"].lower() and said["engine"] == "whisper"
    assert heard.reply().startswith("Your balances: Plaid")
    speaking = next(m for m in heard.of("state") if m["state"] == "speaking")
    assert speaking["rate"] == 24000
    assert len(heard.audio) > 24000 * 2  # more than a second of 16-bit speech came back
    timing = heard.of("timing")[0]
    assert 0 < timing["stt"] < timing["first_audio"] < 10
    (conv,) = heard.of("conversation")

    # The turn is in the conversation, as a chat turn; the transcripts are stored encrypted with provenance.
    history = await stack.services.conversations.history(conv["id"])
    assert history[0]["role"] == "user" and "balance" in history[0]["content"].lower()
    assert (await stack.services.conversations.recent())[0]["channel"] == "voice"
    store = TranscriptStore(c.db, FieldCipher(c.keyring))
    turns = {t.speaker: t for t in await store.for_conversation(conv["id"])}
    assert turns["owner"].text == said["text"] and turns["owner"].label["integrity"] == "OWNER"
    assert turns["assistant"].label["integrity"] == "UNTRUSTED" and turns["assistant"].text.startswith("Your balances")
    assert not turns["owner"].has_audio  # audio is kept only when the owner turns it on
    async with c.db.transaction() as s:
        rows = (await s.scalars(select(VoiceTranscriptRow))).all()
    assert rows and all(b"balance" not in r.content for r in rows)
    async with c.db.transaction() as s:
        actions = list(await s.scalars(select(AuditRow.action).where(AuditRow.action.like("voice.%"))))
    assert actions == ["voice.connect", "voice.turn"]
    model = stack.services.chat.model
    assert isinstance(model, ScriptedModel)
    assert VOICE_NOTE in model.requests[-1]["system"]  # the same chat service, asked for spoken answers


async def test_proposed_side_effect_becomes_an_approval_card_not_an_action(stack: AgentConsole) -> None:
    c = stack.console
    cookies = await c.browser_login()
    sent_before = len(stack.mailbox.sent)
    heard = Heard()
    async with open_socket(stack, cookies) as ws:
        await ws.send(json.dumps({"type": "hello", "rate": 16000}))
        await receive_until(ws, heard, idle)
        await say(ws, with_silence(spoken("Please reply to the last email.")))
        await receive_until(ws, heard, lambda m: m["type"] == "timing")
    (approval,) = heard.of("approval")
    assert APPROVAL_SENTENCE in heard.reply()
    pending = await stack.services.approvals.pending()
    assert [(p.approval_id, p.tool) for p in pending] == [(approval["id"], "gmail.send")]
    assert len(stack.mailbox.sent) == sent_before  # nothing was sent
    assert stack.services.notifier is not None
    notes = await stack.services.notifier.recent()
    assert any(n.kind == "approval" and n.ref == approval["id"] for _, n in notes)
    card = await c.http.get(approval["url"], headers=form_headers(cookies))
    assert card.status_code == 200 and "gmail.send" in card.text


async def test_talking_over_the_answer_stops_it_and_keeps_only_what_was_heard(stack: AgentConsole) -> None:
    c = stack.console
    cookies = await c.browser_login()
    heard = Heard()
    async with open_socket(stack, cookies) as ws:
        await ws.send(json.dumps({"type": "hello", "rate": 16000}))
        await receive_until(ws, heard, idle)
        await say(ws, with_silence(spoken("Tell me about my day.")))
        await receive_until(ws, heard, lambda m: m.get("state") == "speaking")
        await asyncio.sleep(2.5)  # the phone plays the first sentences
        await say(ws, with_silence(spoken("Stop, that is enough."), before=0.0))
        stop = await receive_until(ws, heard, lambda m: m["type"] == "stop")
        await receive_until(ws, heard, lambda m: m["type"] == "transcript" and "enough" in m["text"].lower())
        audio_before = len(heard.audio)
        await receive_until(ws, heard, lambda m: m["type"] == "timing")  # the next answer is spoken too
        assert len(heard.audio) > audio_before

    words = stop["heard"].rstrip("…").split()
    assert 3 <= len(words) < len(STORY.split()) - 10  # some of it was heard, not all of it
    assert STORY.startswith(stop["heard"].rstrip("…"))
    conv = heard.of("conversation")[0]["id"]
    history = await stack.services.conversations.history(conv)
    answer = history[1]["content"][0]["text"]
    assert answer == stop["heard"]  # the conversation keeps the answer only up to what was heard
    assert "coat" not in json.dumps(history)


async def test_hold_to_talk_ends_the_turn_on_release_and_keeps_audio_when_asked(stack: AgentConsole) -> None:
    c = stack.console
    c.app.state.voice = shared_engines(store_audio=True)
    cookies = await c.browser_login()
    heard = Heard()
    async with open_socket(stack, cookies) as ws:
        await ws.send(json.dumps({"type": "hello", "rate": 16000, "mode": "hold"}))
        await receive_until(ws, heard, idle)
        await ws.send(json.dumps({"type": "start"}))
        await say(ws, spoken("What is my balance?"))  # no trailing silence: the release ends the turn
        await ws.send(json.dumps({"type": "end"}))
        said = await receive_until(ws, heard, lambda m: m["type"] == "transcript")
        await receive_until(ws, heard, lambda m: m["type"] == "timing")
        await receive_until(ws, heard, idle)
    assert "balance" in said["text"].lower()
    store = TranscriptStore(c.db, FieldCipher(c.keyring))
    turns = {t.speaker: t for t in await store.for_conversation(heard.of("conversation")[0]["id"])}
    assert turns["owner"].has_audio and not turns["assistant"].has_audio
    wav = await store.audio(turns["owner"].id)
    assert wav is not None and wav[:4] == b"RIFF" and len(wav) > 16000  # the owner's speech, decrypted
    async with c.db.transaction() as s:
        row = await s.get(VoiceTranscriptRow, turns["owner"].id)
    assert row is not None and row.audio is not None and row.audio[:4] != b"RIFF"  # stored encrypted


async def test_the_socket_needs_the_session_cookie_and_this_origin(stack: AgentConsole) -> None:
    c = stack.console
    cookies = await c.browser_login()
    with pytest.raises(InvalidStatus) as no_cookie:
        await open_socket(stack, {})
    assert no_cookie.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as other_site:
        await open_socket(stack, cookies, origin="http://evil.example")
    assert other_site.value.response.status_code == 403
    await post_form(c, cookies, "/auth/logout")
    with pytest.raises(InvalidStatus):
        await open_socket(stack, cookies)  # the session is over: its cookie no longer opens the socket
    async with c.db.transaction() as s:
        reasons = list(await s.scalars(select(AuditRow.reason).where(AuditRow.action == "access.denied")))
    assert "origin" in reasons and "no_credential" in reasons


async def test_uploaded_recording_is_transcribed_and_labelled_as_a_recording(stack: AgentConsole) -> None:
    c = stack.console
    cookies = await c.browser_login()
    from voice.audio import STT_RATE, wav_bytes

    wav = wav_bytes(spoken("The lecture starts with the history of the printing press."), STT_RATE)
    r = await post_recording(c, cookies, "lecture.wav", wav)
    assert r.status_code == 200, r.text
    assert "printing press" in r.text.lower() and "lecture.wav" in r.text
    store = TranscriptStore(c.db, FieldCipher(c.keyring))
    (t,) = await store.recent(kind="upload")
    assert t.speaker == "recording" and t.label["integrity"] == "UNTRUSTED"
    assert [x.id for x in await store.search("printing press")] == [t.id]
    no_csrf = await c.http.post(
        "/voice/transcribe", files={"recording": ("x.wav", wav, "audio/wav")}, headers=form_headers(cookies)
    )
    assert no_csrf.status_code == 403


async def test_when_deepgram_is_unreachable_the_local_engine_transcribes(stack: AgentConsole) -> None:
    from deepgram.transport import restore_transport

    from voice.engines import VoiceEngines
    from voice.stt_deepgram import DeepgramStt

    class Unreachable:
        def __init__(self, url: str, headers: dict[str, str]) -> None:
            raise ConnectionRefusedError(url)

    local = shared_engines()
    try:
        cloud = DeepgramStt("dg-key", transport_factory=Unreachable)
        stack.console.app.state.voice = VoiceEngines(local.vad, cloud, local.tts, local.settings, local.stt)
        cookies = await stack.console.browser_login()
        heard = Heard()
        async with open_socket(stack, cookies) as ws:
            await ws.send(json.dumps({"type": "hello", "rate": 16000}))
            await receive_until(ws, heard, idle)
            await say(ws, with_silence(spoken("What is my balance?")))
            said = await receive_until(ws, heard, lambda m: m["type"] == "transcript")
        assert said["engine"] == "whisper" and "balance" in said["text"].lower()
    finally:
        restore_transport()
