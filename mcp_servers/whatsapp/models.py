"""WhatsApp messages stored by the WhatsApp MCP server, encrypted under the ``messages`` data-key domain.

Plain columns are what lookups and provenance need: the WhatsApp message id, the chat id, the
sender's WhatsApp id (``author``, the provenance principal), direction, type and time. What people
wrote or chose to be called (the text, links, chat name, the sender's names) is encrypted, each
field bound to its row id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class WhatsAppMessageRow(Base):
    __tablename__ = "whatsapp_messages"

    id: Mapped[str] = mapped_column(String(256), primary_key=True)  # WhatsApp's serialized message id
    chat_id: Mapped[str] = mapped_column(String(64), index=True)
    is_group: Mapped[bool] = mapped_column(Boolean, default=False)
    from_me: Mapped[bool] = mapped_column(Boolean, default=False)
    author: Mapped[str | None] = mapped_column(String(64))  # the sender's WhatsApp id (None: the owner)
    timestamp: Mapped[int] = mapped_column(BigInteger, index=True)  # epoch seconds
    type: Mapped[str] = mapped_column(String(32))
    chat_name: Mapped[bytes] = mapped_column(LargeBinary)
    sender_names: Mapped[bytes] = mapped_column(LargeBinary)  # JSON {"saved": ..., "push": ...}
    body: Mapped[bytes] = mapped_column(LargeBinary)
    links: Mapped[bytes] = mapped_column(LargeBinary)  # JSON list
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


ENCRYPTED = tuple(
    EncryptedColumn("whatsapp_messages", column, "messages")
    for column in ("chat_name", "sender_names", "body", "links")
)
