"""Recordings in the containers phones and apps really produce, made offline with PyAV's encoders
from speech made by the offline TTS: decoded to 16 kHz and transcribed by the local engine."""

from __future__ import annotations

import io
from typing import Any

import av
import numpy as np
import pytest

from tests.voice.engines import shared_engines, spoken
from voice.audio import STT_RATE, Samples, resample
from voice.decode import decode_recording
from voice.ports import EngineFailed

pytestmark = pytest.mark.anyio


def encode(samples: Samples, container: str, codec: str) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format=container) as c:
        stream: Any = c.add_stream(codec, rate=48_000)
        stream.layout = "mono"
        pcm = (np.clip(resample(samples, STT_RATE, 48_000), -1, 1) * 32767).astype(np.int16)[None, :]
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = 48_000
        for packet in stream.encode(frame):
            c.mux(packet)
        for packet in stream.encode(None):
            c.mux(packet)
    return out.getvalue()


@pytest.mark.parametrize(
    ("container", "codec"),
    [
        ("ogg", "libopus"),  # a WhatsApp voice note
        ("webm", "libopus"),  # Chrome's MediaRecorder on Android
        ("mp4", "aac"),  # an iOS voice memo, Safari's MediaRecorder
    ],
)
async def test_phone_recordings_decode_and_transcribe(container: str, codec: str) -> None:
    speech = spoken("What is my balance?")
    data = encode(speech, container, codec)
    assert data[:4] != b"RIFF" and len(data) < speech.size  # really compressed, not a WAV
    samples = decode_recording(data)
    assert abs(samples.size - speech.size) < 0.2 * STT_RATE
    text = (await shared_engines().stt.transcribe(samples)).text
    assert "balance" in text.lower()


def test_a_file_that_is_not_audio_is_refused() -> None:
    with pytest.raises(EngineFailed, match="not a recording"):
        decode_recording(b"%PDF-1.7 not audio at all")
