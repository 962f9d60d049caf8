"""Voice transcripts (and, when the owner turns it on, their audio), encrypted, with provenance.

``content`` is encrypted JSON (the text, and a recording's file name); ``audio`` is the encrypted
16-bit PCM WAV or nothing. ``speaker`` and ``label`` say whose words these are: the owner's own
speech in a voice turn is the owner's; an assistant reply or an uploaded recording is not.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class VoiceTranscriptRow(Base):
    __tablename__ = "voice_transcripts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    conversation_id: Mapped[str | None] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # turn | upload
    speaker: Mapped[str] = mapped_column(String(16))  # owner | assistant | recording
    engine: Mapped[str] = mapped_column(String(32))
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    label: Mapped[str] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    audio: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


ENCRYPTED = (
    EncryptedColumn("voice_transcripts", "content", "conversation"),
    EncryptedColumn("voice_transcripts", "audio", "conversation"),
)
