"""Incoming WhatsApp voice notes are transcribed (the real offline engine, an Ogg/Opus note made
offline by hibari) and stored as the message's body, under the message's own labels."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from broker.tokens import SigningKey
from mcp_servers._common import CallGate
from storage.db import Database
from tests.mcp_servers.conftest import Clock, call
from tests.mcp_servers.whatsapp.conftest import WhatsApp, open_whatsapp
from tests.voice.engines import shared_engines, spoken, with_silence
from tests.voice.test_decode import encode
from voice.transcription import RecordingTranscriber

pytestmark = pytest.mark.anyio
READ = "whatsapp.read"
STRANGER = "15550000009@c.us"
OPUS = "audio/ogg; codecs=opus"


@pytest.fixture
async def whatsapp(
    db: Database, make_gate: Callable[[str], CallGate], signing_key: SigningKey, clock: Clock
) -> AsyncIterator[WhatsApp]:
    transcriber = RecordingTranscriber(shared_engines().stt)
    async with open_whatsapp(db, make_gate("whatsapp"), signing_key, clock, transcriber) as w:
        yield w


def _note(w: WhatsApp, seq: int, audio: bytes | None, duration: float = 3.0) -> str:
    mid = f"false_{STRANGER}_3EB0VOICE{seq:04d}"
    msg: dict[str, Any] = {
        "id": mid,
        "chat_id": STRANGER,
        "author": STRANGER,
        "sender_push_name": "Aegis Owner",
        "timestamp": 1_790_001_000 + seq,
        "type": "ptt",
        "body": "",
        "has_media": True,
        "duration": duration,
    }
    w.bridge.inbox[mid] = msg
    w.bridge.chats.setdefault(STRANGER, {"name": None, "group": False, "messages": []})["messages"].append(msg)
    if audio is not None:
        w.bridge.voice[mid] = (OPUS, audio)
    return mid


async def test_a_voice_note_is_transcribed_and_labelled_like_its_message(whatsapp: WhatsApp) -> None:
    said = encode(with_silence(spoken("Please call me back about the rent.")), "ogg", "libopus")
    mid = _note(whatsapp, 1, said)
    gone = _note(whatsapp, 2, None)  # WhatsApp no longer has its audio
    long = _note(whatsapp, 3, said, duration=3600)
    out = await call(whatsapp.client, whatsapp.tokens, "sync", {}, READ)
    assert out["stored"] == 4 and whatsapp.bridge.inbox == {}, "every note is stored, transcribed or not"

    read = await call(whatsapp.client, whatsapp.tokens, "read_chat", {"chat_id": STRANGER}, READ)
    bodies = {m["id"]: m for m in read["messages"]}
    heard = bodies[mid]["text"] if "text" in bodies[mid] else bodies[mid]["body"]
    assert heard.startswith("[voice note, ") and "transcribed by whisper]" in heard
    assert "call me back" in heard.lower() and "rent" in heard.lower()
    # The same labels as a typed message from this stranger: untrusted sender, their chat.
    assert bodies[mid]["from"] == STRANGER
    assert bodies[mid]["sender_label"].startswith('~"Aegis Owner" (+15550000009, not in the owner\'s contacts')
    assert {"channel": "whatsapp", "server": "whatsapp", "item_id": mid, "principal": STRANGER} in read["sources"]
    gone_body = bodies[gone].get("text") or bodies[gone]["body"]
    assert gone_body == "[voice note: not transcribed (NotFound)]"
    long_body = bodies[long].get("text") or bodies[long]["body"]
    assert long_body == "[voice note, 60 min: too long to transcribe here]"

    found = await call(whatsapp.client, whatsapp.tokens, "search", {"query": "rent"}, READ)
    assert mid in {m["id"] for m in found["messages"]}
