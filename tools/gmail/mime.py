"""Gmail body helpers: base64url decoding, walking MIME parts, and building RFC 822 replies.

Gmail returns part bodies as base64url (RFC 4648 §5), sometimes without padding; ``raw`` messages
and ``messages.send``/``drafts.create`` use the same encoding for the whole RFC 822 message.
"""

from __future__ import annotations

import base64
import binascii
import email.message
import email.policy
import email.utils
from collections.abc import Iterator, Sequence

from tools.errors import InvalidRequest
from tools.gmail.models import Message, MessagePart


def decode_base64url(data: str) -> bytes:
    """Decode base64url with or without padding; raise InvalidRequest on garbage."""
    cleaned = "".join(data.split())
    try:
        return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        raise InvalidRequest("body is not valid base64url", integration="gmail") from None


def encode_base64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def iter_parts(part: MessagePart) -> Iterator[MessagePart]:
    """``part`` and all its descendants, depth first, in document order."""
    yield part
    for child in part.parts:
        yield from iter_parts(child)


def _charset(part: MessagePart) -> str:
    content_type = part.header("Content-Type")
    if not content_type:
        return "utf-8"
    probe = email.message.Message()
    probe["Content-Type"] = content_type
    return probe.get_content_charset() or "utf-8"


def part_text(part: MessagePart) -> str | None:
    """The decoded text of one leaf part (None if its body is an attachment or empty)."""
    if part.body.data is None:
        return None
    raw = decode_base64url(part.body.data)
    try:
        return raw.decode(_charset(part), errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


def body_text(message: Message, mime_type: str = "text/plain") -> str | None:
    """The first non-attachment part of ``mime_type``, decoded; None if there is none."""
    if message.payload is None:
        return None
    for part in iter_parts(message.payload):
        if part.mime_type == mime_type and not part.filename:
            text = part_text(part)
            if text is not None:
                return text
    return None


def attachments(message: Message) -> list[MessagePart]:
    """Parts that carry a filename (their bodies are fetched separately by attachment id)."""
    if message.payload is None:
        return []
    return [p for p in iter_parts(message.payload) if p.filename]


def _clean(value: str, what: str) -> str:
    if "\r" in value or "\n" in value:
        raise InvalidRequest(f"{what} contains a line break", integration="gmail")
    return value


def build_reply(
    original: Message,
    *,
    from_addr: str,
    body: str,
    reply_all: bool = False,
    extra_cc: Sequence[str] = (),
) -> bytes:
    """An RFC 822 reply to ``original`` that threads correctly (In-Reply-To and References).

    The reply goes to the original's Reply-To (else From). With ``reply_all`` the original To and Cc
    are copied to Cc, without ``from_addr``. Every header value is checked for line breaks so a
    hostile original cannot inject headers. Send the bytes with ``thread_id=original.thread_id``.
    """
    sender = _clean(from_addr, "from address")
    recipient = _clean(original.header("Reply-To") or original.header("From") or "", "recipient")
    if not recipient:
        raise InvalidRequest("the original message has no From or Reply-To header", integration="gmail")
    subject = _clean(original.header("Subject") or "", "subject")
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}".rstrip()
    message_id = _clean(original.header("Message-ID") or "", "Message-ID")
    references = _clean(original.header("References") or "", "References")

    reply = email.message.EmailMessage(policy=email.policy.SMTP)
    reply["From"] = sender
    reply["To"] = recipient
    cc = [_clean(a, "cc address") for a in extra_cc]
    if reply_all:
        own = email.utils.parseaddr(sender)[1].lower()
        copied = [original.header("To") or "", original.header("Cc") or ""]
        for _name, addr in email.utils.getaddresses([_clean(v, "recipient") for v in copied if v]):
            if addr and addr.lower() != own and addr.lower() not in recipient.lower():
                cc.append(addr)
    if cc:
        reply["Cc"] = ", ".join(dict.fromkeys(cc))
    reply["Subject"] = subject
    reply["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2] or None
    reply["Message-ID"] = email.utils.make_msgid(domain=domain)
    if message_id:
        reply["In-Reply-To"] = message_id
        reply["References"] = f"{references} {message_id}".strip()
    reply.set_content(body)
    return reply.as_bytes()
