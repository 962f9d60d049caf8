from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from email.message import EmailMessage

import httpx
import pytest

from tools._http import build_http_client
from tools.credentials import StaticCredentials
from tools.errors import AuthExpired, InvalidRequest, NotFound
from tools.gmail.client import GmailClient
from tools.gmail.demo import DemoMailbox, demo_credentials, demo_transport
from tools.gmail.demo_data.mailbox import EXFIL_ADDRESS
from tools.gmail.mime import body_text, build_reply, decode_base64url

pytestmark = pytest.mark.anyio
INJECTION_THREAD = "18f3a0c2d9b1e401"


@pytest.fixture
def mailbox() -> DemoMailbox:
    return DemoMailbox()


@pytest.fixture
async def gmail(mailbox: DemoMailbox) -> AsyncIterator[GmailClient]:
    async with build_http_client(transport=demo_transport(mailbox)) as http:
        yield GmailClient(http, StaticCredentials(demo_credentials()))


async def test_the_mailbox_has_12_messages_in_5_threads(gmail: GmailClient) -> None:
    profile = await gmail.profile()
    refs = [ref async for ref in gmail.iter_messages(page_size=5)]
    assert (profile.messages_total, profile.threads_total) == (12, 5)
    assert len(refs) == 12 and len({r.thread_id for r in refs}) == 5
    assert profile.email_address == "alex.rivera@example.com"


async def test_every_message_is_internally_consistent(gmail: GmailClient) -> None:
    async for ref in gmail.iter_messages():
        full = await gmail.get_message(ref.id)
        raw = await gmail.get_message(ref.id, format="raw")
        assert raw.raw is not None and full.payload is not None
        parsed = email.message_from_bytes(decode_base64url(raw.raw), _class=EmailMessage, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        assert parsed["Subject"] == full.header("Subject") and full.thread_id == ref.thread_id
        plain = parsed.get_body(preferencelist=("plain",))
        assert plain is not None and body_text(full) == plain.get_content()
        assert full.size_estimate == len(decode_base64url(raw.raw))
        assert full.history_id is not None and int(full.history_id) <= int((await gmail.profile()).history_id)


async def test_the_mailbox_contains_a_prompt_injection_attempt(gmail: GmailClient) -> None:
    thread = await gmail.get_thread(INJECTION_THREAD)
    first = thread.messages[0]
    assert len(thread.messages) == 2 and "UNREAD" in first.label_ids
    assert EXFIL_ADDRESS in (body_text(first) or "")
    html = body_text(first, "text/html") or ""
    assert "display:none" in html and EXFIL_ADDRESS in html


async def test_search_and_labels(gmail: GmailClient) -> None:
    labels = {label.id: label.name for label in await gmail.list_labels()}
    assert labels["Label_1"] == "Finance" and "INBOX" in labels
    finance = await gmail.list_messages(q="label:finance")
    unread_finance = await gmail.list_messages(q="is:unread", label_ids=["Label_1"])
    assert finance.result_size_estimate == 2 and unread_finance.result_size_estimate == 1
    flights = await gmail.list_messages(q="from:skyway")
    assert {m.thread_id for m in flights.messages} == {"18f34c9e0b2a1178"}


async def test_attachment_part_has_an_id_and_no_inline_data(gmail: GmailClient) -> None:
    msg = await gmail.get_message("18f30a7d5e8b0e45")
    assert msg.payload is not None and msg.payload.mime_type == "multipart/mixed"
    pdf = msg.payload.parts[-1]
    assert pdf.filename == "Q4-planning-draft.pdf" and pdf.body.attachment_id and pdf.body.data is None


async def test_history_pages_and_a_stale_id(gmail: GmailClient) -> None:
    page = await gmail.list_history("2010")
    kinds = [(r.id, bool(r.messages_added), bool(r.labels_removed), bool(r.labels_added)) for r in page.history]
    assert kinds == [
        ("2011", True, False, False),
        ("2012", True, False, False),
        ("2020", False, True, False),
        ("2030", False, False, True),
    ]
    assert page.history_id == "2030"
    only_added = await gmail.list_history("2010", history_types=["messageAdded"])
    assert [r.id for r in only_added.history] == ["2011", "2012"]
    with pytest.raises(NotFound):
        await gmail.list_history("1000")


async def test_reply_send_and_draft_change_the_mailbox(gmail: GmailClient, mailbox: DemoMailbox) -> None:
    start = (await gmail.profile()).history_id
    original = await gmail.get_message("18f2c8e9a4d10c23")
    raw = build_reply(original, from_addr=mailbox.owner, body="Booked for 7pm.")
    sent = await gmail.send_message(raw, thread_id=original.thread_id)
    draft = await gmail.create_draft(raw, thread_id=original.thread_id)
    assert sent.thread_id == original.thread_id and sent.label_ids == ("SENT",)
    assert draft.message.label_ids == ("DRAFT",) and mailbox.sent == [raw]
    thread = await gmail.get_thread(original.thread_id or "")
    assert len(thread.messages) == 5
    changes = [r async for r in gmail.iter_history(start)]
    added = [a.message.id for page in changes for r in page.history for a in r.messages_added]
    assert added == [sent.id, draft.message.id]


async def test_modify_labels_is_recorded_in_history(gmail: GmailClient) -> None:
    start = (await gmail.profile()).history_id
    msg = await gmail.modify_labels("18f2c8e9a4d10c23", add=["STARRED"], remove=["UNREAD"])
    assert "STARRED" in msg.label_ids and "UNREAD" not in msg.label_ids
    page = await gmail.list_history(start)
    assert [r.labels_added[0].label_ids if r.labels_added else r.labels_removed[0].label_ids for r in page.history] == [
        ("STARRED",),
        ("UNREAD",),
    ]
    with pytest.raises(InvalidRequest):
        await gmail.modify_labels("18f2c8e9a4d10c23", add=["Label_99"])
    with pytest.raises(NotFound):
        await gmail.get_message("ffffffffffffffff")


async def test_a_wrong_token_is_refused(mailbox: DemoMailbox) -> None:
    async with httpx.AsyncClient(transport=demo_transport(mailbox)) as http:
        gmail = GmailClient(http, StaticCredentials({"gmail-oauth": '{"access_token": "ya29.wrong"}'}))
        with pytest.raises(AuthExpired):
            await gmail.profile()


async def test_mailboxes_are_independent() -> None:
    one, two = DemoMailbox(), DemoMailbox()
    one.sent.append(b"x")
    assert two.sent == [] and one.messages is not two.messages
