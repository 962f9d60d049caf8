from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from tests.tools.gmail.payloads import MESSAGE_FULL, b64url
from tools.errors import InvalidRequest
from tools.gmail.mime import attachments, body_text, build_reply, decode_base64url, encode_base64url, iter_parts
from tools.gmail.models import Message

OWNER = "Alex Rivera <alex.rivera@example.com>"


def message(**headers: str) -> Message:
    merged = {"From": "Dana <dana@northwind.example>", "Subject": "Plans", "Message-ID": "<m2@x.example>", **headers}
    return Message.model_validate(
        {
            "id": "m2",
            "threadId": "t1",
            "payload": {
                "mimeType": "text/plain",
                "headers": [{"name": k.replace("_", "-"), "value": v} for k, v in merged.items()],
                "body": {"size": 2, "data": b64url("hi")},
            },
        }
    )


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, _class=EmailMessage, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.parametrize("data", [b64url("héllo?>>", pad=True), b64url("héllo?>>"), b64url("héllo?>>")[:-1] + "\n"])
def test_decode_base64url_with_and_without_padding(data: str) -> None:
    if data.endswith("\n"):
        assert decode_base64url(data).startswith("héllo".encode())
    else:
        assert decode_base64url(data) == "héllo?>>".encode()


def test_decode_base64url_uses_the_url_alphabet() -> None:
    raw = bytes([0xFB, 0xFF, 0xBF])
    assert encode_base64url(raw) == "-_-_"
    assert decode_base64url("-_-_") == raw


def test_decode_base64url_rejects_garbage() -> None:
    with pytest.raises(InvalidRequest):
        decode_base64url("a")


def test_parts_are_walked_depth_first() -> None:
    msg = Message.model_validate(MESSAGE_FULL)
    assert msg.payload is not None
    assert [p.part_id for p in iter_parts(msg.payload)] == ["", "0", "0.0", "0.1", "1"]


def test_body_text_decodes_each_charset_and_skips_attachments() -> None:
    msg = Message.model_validate(MESSAGE_FULL)
    assert body_text(msg) is not None and "café meeting moved to 3pm —" in (body_text(msg) or "")
    assert body_text(msg, "text/html") == "<p>Hi Alex,</p><p>The café meeting moved to <b>3pm</b>.</p>"
    assert body_text(msg, "application/pdf") is None
    [pdf] = attachments(msg)
    assert (pdf.filename, pdf.body.attachment_id, pdf.body.size) == ("agenda.pdf", "ANGjdJ8wXk1", 48213)


def test_body_text_of_a_message_without_payload_is_none() -> None:
    assert body_text(Message(id="x")) is None and attachments(Message(id="x")) == []


def test_reply_threads_with_in_reply_to_and_references() -> None:
    original = Message.model_validate(MESSAGE_FULL)
    reply = parse(build_reply(original, from_addr=OWNER, body="Sounds good.\n"))
    assert reply["To"] == "Dana Whitfield <dana.whitfield@northwind.example>"
    assert reply["Subject"] == "Re: Q4 planning"
    assert reply["In-Reply-To"] == "<CAF=q4plan@mail.northwind.example>"
    assert reply["References"].split() == [
        "<CAF=kickoff@mail.northwind.example>",
        "<CAF=q4plan@mail.northwind.example>",
    ]
    assert reply["Message-ID"].endswith("@example.com>") and reply["Date"]
    assert reply["Cc"] is None
    body = reply.get_body()
    assert body is not None and body.get_content() == "Sounds good.\r\n"  # CRLF on the wire (RFC 5322)


def test_reply_goes_to_reply_to_and_does_not_stack_re() -> None:
    original = message(Reply_To="Team <team@northwind.example>", Subject="RE: Plans")
    reply = parse(build_reply(original, from_addr=OWNER, body="ok"))
    assert reply["To"] == "Team <team@northwind.example>" and reply["Subject"] == "RE: Plans"
    assert reply["References"] == "<m2@x.example>"


def test_reply_all_copies_recipients_but_not_the_sender_himself() -> None:
    original = Message.model_validate(MESSAGE_FULL)
    reply = parse(build_reply(original, from_addr=OWNER, body="ok", reply_all=True))
    assert reply["Cc"] == "lee.chen@northwind.example"


def test_non_ascii_body_round_trips() -> None:
    reply = parse(build_reply(message(), from_addr=OWNER, body="Grüße — à bientôt"))
    body = reply.get_body()
    assert body is not None and body.get_content().strip() == "Grüße — à bientôt"


@pytest.mark.parametrize(
    "headers",
    [{"Subject": "hi\r\nBcc: attacker@evil.example"}, {"From": "a@b.example\nBcc: c@d.example"}],
)
def test_header_injection_from_the_original_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(InvalidRequest, match="line break"):
        build_reply(message(**headers), from_addr=OWNER, body="ok")


def test_header_injection_in_our_own_arguments_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        build_reply(message(), from_addr="me@example.com\r\nBcc: x@evil.example", body="ok")
    with pytest.raises(InvalidRequest):
        build_reply(message(), from_addr=OWNER, body="ok", extra_cc=["x@example.com\nBcc: y@evil.example"])


def test_a_message_without_sender_cannot_be_replied_to() -> None:
    bare = Message.model_validate({"id": "m", "payload": {"mimeType": "text/plain", "headers": []}})
    with pytest.raises(InvalidRequest):
        build_reply(bare, from_addr=OWNER, body="ok")
