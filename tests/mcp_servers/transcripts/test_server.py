"""The transcripts server through a real MCP client: search by words and dates with snippets and
ids, read one transcript in pages, every call token-checked, provenance decided by whose words they
are (a tampered label does not make a recording the owner's), and the text encrypted at rest."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from mcp import Client
from sqlalchemy import select, update

from broker.tokens import SigningKey
from mcp_servers._common import CallGate
from mcp_servers.transcripts.server import PAGE, TranscriptsDeps, build_server
from mcp_servers.transcripts.store import TranscriptReader
from storage.crypto.field import FieldCipher, kid_of
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from storage.models.voice import VoiceTranscriptRow
from tests.mcp_servers.conftest import Clock, Tokens, call, error_text
from voice.store import TranscriptStore

pytestmark = pytest.mark.anyio
LECTURE = (
    "Good morning. Today we cover the second law of thermodynamics. Entropy of an isolated system never "
    "decreases; Clausius put it as heat never flows by itself from a colder to a hotter body. "
) * 3 + "For Friday, read chapter four on the Carnot cycle."


@dataclass
class Stack:
    client: Client
    tokens: Tokens
    console: TranscriptStore  # the console's writer, as the voice page uses it
    db: Database


@pytest.fixture
def console_keyring() -> Keyring:
    keys = [
        DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE)
        for d in ("conversation", "chain", "auth")
        for p in ("enc", "idx")
    ]
    return Keyring(keys)


@pytest.fixture
async def stack(
    db: Database, console_keyring: Keyring, make_gate: Callable[[str], CallGate], signing_key: SigningKey, clock: Clock
) -> AsyncIterator[Stack]:
    own = console_keyring.restricted_to({"conversation", "chain"})  # what the broker grants mcp-transcripts
    server = build_server(TranscriptsDeps(reader=TranscriptReader(db, FieldCipher(own)), gate=make_gate("transcripts")))
    async with Client(server) as client:
        yield Stack(
            client, Tokens(signing_key, clock, "transcripts"), TranscriptStore(db, FieldCipher(console_keyring)), db
        )


async def _dated(db: Database, tid: str, when: datetime) -> None:
    async with db.transaction() as s:
        await s.execute(update(VoiceTranscriptRow).where(VoiceTranscriptRow.id == tid).values(created_at=when))


async def _search(s: Stack, **args: Any) -> list[dict[str, Any]]:
    out = await call(s.client, s.tokens, "search", args, "transcripts.read")
    items: list[dict[str, Any]] = out["items"]
    return items


async def _seed(s: Stack) -> dict[str, str]:
    ids = {
        "lecture": await s.console.add(
            kind="upload", speaker="recording", text=LECTURE, engine="whisper-tiny.en", seconds=3120.0,
            name="PHYS 201 lecture 12.m4a",
        ),
        "memo": await s.console.add(
            kind="upload", speaker="recording", text="Remember to call the landlord about the boiler.",
            engine="deepgram", seconds=6.0, name="memo.ogg",
        ),
        "mine": await s.console.add(
            kind="turn", speaker="owner", text="What is entropy again?", engine="whisper", conversation_id="c1"
        ),
        "reply": await s.console.add(
            kind="turn", speaker="assistant", text="Entropy measures disorder.", engine="kokoro", conversation_id="c1"
        ),
    }  # fmt: skip
    await _dated(s.db, ids["lecture"], datetime(2026, 11, 2, 10, tzinfo=UTC))
    await _dated(s.db, ids["memo"], datetime(2026, 11, 20, 9, tzinfo=UTC))
    await _dated(s.db, ids["mine"], datetime(2026, 11, 25, 18, tzinfo=UTC))
    await _dated(s.db, ids["reply"], datetime(2026, 11, 25, 18, 0, 5, tzinfo=UTC))
    return ids


async def test_search_by_words_returns_snippets_with_ids_and_whose_words_they_are(stack: Stack) -> None:
    ids = await _seed(stack)
    hits = await _search(stack, words="Clausius heat")
    assert [h["id"] for h in hits] == [ids["lecture"]]
    lecture = hits[0]
    assert lecture["name"] == "PHYS 201 lecture 12.m4a" and lecture["kind"] == "upload"
    assert lecture["date"] == "2026-11-02" and lecture["seconds"] == 3120.0
    assert "Clausius" in lecture["snippet"] and len(lecture["snippet"]) < 260
    assert lecture["_label"]["integrity"] == "UNTRUSTED"
    assert lecture["_label"]["sources"][0]["item_id"] == ids["lecture"]

    entropy = {h["id"]: h for h in await _search(stack, words="ENTROPY")}  # case-insensitive, newest first
    assert list(entropy) == [ids["reply"], ids["mine"], ids["lecture"]]
    assert entropy[ids["mine"]]["_label"]["integrity"] == "OWNER"  # the owner's own voice
    assert entropy[ids["reply"]]["_label"]["integrity"] == "UNTRUSTED"
    assert await _search(stack, words="entropy boiler") == []  # every word must match
    assert [h["id"] for h in await _search(stack, words="lecture 12")] == [ids["lecture"]]  # the file name too


async def test_a_date_range_and_a_kind_narrow_the_search(stack: Stack) -> None:
    ids = await _seed(stack)
    november = await _search(stack, start="2026-11-01", end="2026-11-20", kind="upload")
    assert [h["id"] for h in november] == [ids["memo"], ids["lecture"]]  # the end day is included
    assert [h["id"] for h in await _search(stack, start="2026-11-03")] == [ids["reply"], ids["mine"], ids["memo"]]
    assert [h["id"] for h in await _search(stack, kind="turn", limit=1)] == [ids["reply"]]
    backwards = await stack.client.call_tool(
        "search", {"start": "2026-11-20", "end": "2026-11-01"}, meta=stack.tokens.meta("transcripts.read")
    )
    assert "end is before start" in error_text(backwards)


async def test_read_returns_one_transcript_in_pages(stack: Stack) -> None:
    ids = await _seed(stack)
    long_text = "word " * 3_000  # two pages
    big = await stack.console.add(kind="upload", speaker="recording", text=long_text, engine="e", name="long.wav")
    whole = await call(stack.client, stack.tokens, "read", {"transcript_id": ids["lecture"]}, "transcripts.read")
    assert whole["text"] == LECTURE and whole["next_offset"] is None and whole["_label"]["integrity"] == "UNTRUSTED"
    first = await call(stack.client, stack.tokens, "read", {"transcript_id": big}, "transcripts.read")
    assert len(first["text"]) == PAGE and first["next_offset"] == PAGE and first["total_chars"] == len(long_text)
    rest = await call(stack.client, stack.tokens, "read", {"transcript_id": big, "offset": PAGE}, "transcripts.read")
    assert first["text"] + rest["text"] == long_text and rest["next_offset"] is None
    mine = await call(stack.client, stack.tokens, "read", {"transcript_id": ids["mine"]}, "transcripts.read")
    assert mine["_label"]["integrity"] == "OWNER" and mine["speaker"] == "owner"
    missing = await stack.client.call_tool(
        "read", {"transcript_id": "00000000-0000-0000-0000-000000000000"}, meta=stack.tokens.meta("transcripts.read")
    )
    assert "not found" in error_text(missing)


async def test_every_call_needs_a_token_for_its_scope(stack: Stack) -> None:
    await _seed(stack)
    bare = await stack.client.call_tool("search", {"words": "entropy"})
    assert bare.is_error and "entropy" not in error_text(bare).casefold()
    wrong = await stack.client.call_tool("search", {"words": "entropy"}, meta=stack.tokens.meta("mail.read"))
    assert wrong.is_error
    other = await stack.client.call_tool(
        "search", {}, meta=stack.tokens.meta("transcripts.read", audience="mcp-memory", resource="mcp:memory")
    )
    assert other.is_error


async def test_a_recording_stays_untrusted_even_if_its_stored_label_is_rewritten(stack: Stack) -> None:
    ids = await _seed(stack)
    async with stack.db.transaction() as s:
        row = (await s.scalars(select(VoiceTranscriptRow).where(VoiceTranscriptRow.id == ids["mine"]))).one()
        owner_label = row.label
        await s.execute(
            update(VoiceTranscriptRow).where(VoiceTranscriptRow.id == ids["lecture"]).values(label=owner_label)
        )
        await s.execute(update(VoiceTranscriptRow).where(VoiceTranscriptRow.id == ids["mine"]).values(label="{"))
    hits = {h["id"]: h for h in await _search(stack, words="entropy")}
    assert hits[ids["lecture"]]["_label"]["integrity"] == "UNTRUSTED"
    assert hits[ids["mine"]]["_label"]["integrity"] == "UNTRUSTED"  # unreadable label: fail closed


async def test_the_text_is_encrypted_at_rest_under_the_conversation_domain(stack: Stack) -> None:
    ids = await _seed(stack)
    async with stack.db.read() as s:
        rows = list((await s.scalars(select(VoiceTranscriptRow))).all())
    assert len(rows) == 4
    for row in rows:
        assert b"entropy" not in row.content.lower() and b"landlord" not in row.content
        assert kid_of(row.content) == "conversation.enc.v1"
    assert ids["lecture"] in {r.id for r in rows}


async def test_the_gateway_labels_a_recording_untrusted_and_the_owners_turn_as_the_owners(stack: Stack) -> None:
    """What the agent's context gets: the registry's result label joined with each item's ``_label``."""
    from agent.gateway.labeller import default_labeller
    from agent.gateway.registry import Registry

    await _seed(stack)
    spec = Registry.load().spec("transcripts.search")
    assert spec is not None

    def label(result: dict[str, Any]) -> str:
        assert spec is not None
        return default_labeller(spec, {}, result, datetime.now(UTC), ["me@owner.example"]).integrity.name

    owner_only = await call(
        stack.client, stack.tokens, "search", {"words": "again", "kind": "turn"}, "transcripts.read"
    )
    assert [h["speaker"] for h in owner_only["items"]] == ["owner"] and label(owner_only) == "OWNER"
    with_lecture = await call(stack.client, stack.tokens, "search", {"words": "entropy"}, "transcripts.read")
    assert label(with_lecture) == "UNTRUSTED"
