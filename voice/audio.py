"""PCM helpers: 16-bit little-endian mono bytes <-> float32 samples, resampling, WAV in and out."""

from __future__ import annotations

import io
import wave

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]
STT_RATE = 16_000


def pcm16_to_float(data: bytes) -> Samples:
    usable = len(data) - len(data) % 2
    return (np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0).astype(np.float32)


def float_to_pcm16(samples: Samples) -> bytes:
    clipped = np.clip(samples, -1.0, 1.0)
    return (clipped * 32767.0).astype("<i2").tobytes()


def resample(samples: Samples, src_rate: int, dst_rate: int) -> Samples:
    """Linear interpolation: enough for speech into Whisper or out to a phone speaker."""
    if src_rate == dst_rate or samples.size == 0:
        return samples
    n = max(1, round(samples.size * dst_rate / src_rate))
    positions = np.linspace(0.0, samples.size - 1, n)
    return np.interp(positions, np.arange(samples.size), samples).astype(np.float32)


def wav_bytes(samples: Samples, rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(float_to_pcm16(samples))
    return out.getvalue()


def read_wav(data: bytes) -> tuple[Samples, int]:
    """A PCM WAV (16-bit, any rate, mono or the first channel) as float32 samples and its rate."""
    with wave.open(io.BytesIO(data), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError("only 16-bit PCM WAV is read here")
        channels, rate = w.getnchannels(), w.getframerate()
        raw = w.readframes(w.getnframes())
    samples = pcm16_to_float(raw)
    if channels > 1:
        samples = samples[::channels].copy()
    return samples, rate
