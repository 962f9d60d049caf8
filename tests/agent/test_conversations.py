from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy import text

from agent.conversations import ConversationStore, DatabaseLedger
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database

pytestmark = pytest.mark.anyio


@pytest.fixture
def store(db: Database) -> ConversationStore:
    return ConversationStore(db, FieldCipher(Keyring([DataKey("conversation.enc.v1", os.urandom(32), ACTIVE)])))


async def test_messages_are_encrypted_at_rest_and_labels_persist(store: ConversationStore, db: Database) -> None:
    cid = await store.create("Budget questions")
    label = {"integrity": "UNTRUSTED", "sources": [{"channel": "email", "item_id": "m42"}]}
    await store.append(
        cid,
        [
            {"role": "user", "content": "my card ends 4242-canary"},
            {"role": "assistant", "content": [{"type": "text", "text": "noted"}]},
        ],
        [None, label],
    )
    async with db.transaction() as s:
        raw = (await s.execute(text("SELECT content FROM conversation_messages"))).scalars().all()
        title = (await s.execute(text("SELECT title FROM conversations"))).scalar_one()
    assert all(b"4242-canary" not in bytes(r) for r in raw) and b"Budget" not in bytes(title)
    msgs = await store.messages(cid)
    assert [m.content for m in msgs] == ["my card ends 4242-canary", [{"type": "text", "text": "noted"}]]
    assert msgs[1].label == label and msgs[0].label is None
    assert (await store.recent())[0]["title"] == "Budget questions"


async def test_a_message_row_moved_to_another_id_does_not_decrypt(store: ConversationStore, db: Database) -> None:
    cid = await store.create("t")
    await store.append(cid, [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], [None, None])
    async with db.transaction() as s:
        await s.execute(
            text(
                "UPDATE conversation_messages SET content = "
                "(SELECT content FROM conversation_messages WHERE seq = 1) WHERE seq = 2"
            )
        )
    from storage.crypto.errors import DecryptionFailed

    with pytest.raises(DecryptionFailed):
        await store.messages(cid)


async def test_compaction_keeps_recent_turns_whole_and_standing_instructions_survive(store: ConversationStore) -> None:
    cid = await store.create("long")
    await store.add_instruction("Always answer in British English.")
    for i in range(10):
        await store.append(
            cid,
            [
                {"role": "user", "content": f"question {i} " + "x" * 200},
                {"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": "a__b", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": "r"}]},
                {"role": "assistant", "content": [{"type": "text", "text": f"answer {i}"}]},
            ],
            [None] * 4,
        )
    dropped = await store.compact(cid, keep_chars=1200)
    kept = await store.history(cid)
    assert dropped > 0 and len(kept) < 40
    assert kept[0]["role"] == "user" and isinstance(kept[0]["content"], str)  # never starts mid tool call
    assert kept[-1]["content"] == [{"type": "text", "text": "answer 9"}]
    assert [t for _, t in await store.instructions()] == ["Always answer in British English."]
    assert len(await store.messages(cid, include_compacted=True)) == 40


async def test_the_daily_ledger_survives_a_new_instance(db: Database) -> None:
    day = date(2026, 11, 23)
    await DatabaseLedger(db).add(day, 1000, 0.25)
    await DatabaseLedger(db).add(day, 500, 0.10)
    tokens, cost = await DatabaseLedger(db).spent(day)
    assert tokens == 1500 and cost == pytest.approx(0.35)
    assert await DatabaseLedger(db).spent(date(2026, 11, 24)) == (0, 0.0)
