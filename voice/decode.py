"""Recordings in whatever container a phone or an app produces (a messaging app's Ogg/Opus voice note, iOS's
MP4/AAC voice memos, Chrome's WebM/Opus, WAV, MP3), decoded to 16 kHz mono through PyAV."""

from __future__ import annotations

import io

import numpy as np

from voice.audio import STT_RATE, Samples
from voice.ports import EngineFailed, EngineUnavailable

MAX_SECONDS = 3 * 3600


def decode_recording(data: bytes) -> Samples:
    try:
        from faster_whisper.audio import decode_audio
    except ImportError as exc:
        raise EngineUnavailable("faster-whisper (and PyAV) is not installed") from exc
    try:
        audio = decode_audio(io.BytesIO(data), sampling_rate=STT_RATE)
    except Exception as exc:
        raise EngineFailed("this file is not a recording that can be read") from exc
    samples = np.asarray(audio, dtype=np.float32)
    if samples.size > MAX_SECONDS * STT_RATE:
        raise EngineFailed("the recording is longer than three hours")
    return samples
