"""Recordings to text: any file a phone or an app produces (a voice memo, a lecture, a voice note
a messaging integration brings in), decoded and transcribed with the configured speech-to-text
engine (Deepgram when its key is set), falling back to the local engine when that one fails.

Nothing here labels the text: whoever brings the recording in keeps its own provenance on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from voice.decode import decode_recording
from voice.ports import SpeechToText, Transcript, VoiceError


class RecordingTranscriber:
    def __init__(self, stt: SpeechToText, local: SpeechToText | None = None) -> None:
        self._stt = stt
        self._local = local

    async def transcribe(self, data: bytes) -> Transcript:
        samples = await asyncio.to_thread(decode_recording, data)
        try:
            return await self._stt.transcribe(samples)
        except VoiceError:
            if self._local is None or self._local is self._stt:
                raise
            return await self._local.transcribe(samples)


class LazyTranscriber:
    """Loads its engine on the first recording (a process that may never get one does not pay
    for a speech model at start), once."""

    def __init__(self, build: Callable[[], RecordingTranscriber]) -> None:
        self._build = build
        self._ready: RecordingTranscriber | None = None
        self._lock = asyncio.Lock()

    async def transcribe(self, data: bytes) -> Transcript:
        async with self._lock:
            if self._ready is None:
                self._ready = await asyncio.to_thread(self._build)
        return await self._ready.transcribe(data)


def local_transcriber() -> LazyTranscriber:
    """The offline engine (Whisper tiny.en from its wheel), loaded on first use."""

    def build() -> RecordingTranscriber:
        from voice.stt_local import WhisperStt

        return RecordingTranscriber(WhisperStt())

    return LazyTranscriber(build)
