"""The voice ports. Adapters: ``stt_local`` (faster-whisper), ``stt_deepgram`` (Deepgram streaming),
``tts_local`` (hibari, offline) and ``tts_kokoro`` (Kokoro, when its weights are present).

The speech port takes whole sentences of text and yields audio chunks. A conversational speech
model such as Sesame CSM would take the conversation's recent audio as context as well: it would
fit behind the same port with a ``context`` argument, once a GPU host runs it (see the README).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Protocol

from voice.audio import Samples


class VoiceError(Exception):
    """Base class of the voice errors."""


class EngineUnavailable(VoiceError):
    """The operator's fix: an engine is missing its package, weights or key."""


class EngineFailed(VoiceError):
    """The engine (local or remote) failed on this input; the owner can try again."""


@dataclass(frozen=True)
class Transcript:
    text: str
    engine: str
    audio_seconds: float
    seconds: float  # wall time spent transcribing after the last audio arrived


class SttStream(Protocol):
    """One utterance: audio goes in as it arrives (16 kHz float32), the text comes out at the end."""

    async def send(self, samples: Samples) -> None: ...

    async def finish(self) -> Transcript: ...

    async def peek(self) -> Transcript | None:
        """A transcript of the audio so far, while the turn may still go on (None: not offered).
        The session asks when the owner has been silent a moment, so the end of turn finds it ready."""
        ...

    async def cancel(self) -> None: ...


class SpeechToText(Protocol):
    name: str

    async def open(self) -> SttStream: ...

    async def transcribe(self, samples: Samples) -> Transcript:
        """A whole recording at 16 kHz (uploads)."""
        ...


class TextToSpeech(Protocol):
    name: str
    sample_rate: int

    def synthesize(self, text: str) -> AsyncGenerator[Samples, None]:
        """Audio chunks (float32 at ``sample_rate``) for ``text``, the first as soon as it is ready."""
        ...
