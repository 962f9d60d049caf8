"""The real engines, loaded once per test process, and WAV files made offline by the offline TTS."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from voice.audio import STT_RATE, Samples, read_wav, resample, wav_bytes
from voice.engines import VoiceEngines, VoiceSettings
from voice.stt_local import WhisperStt
from voice.tts_local import HibariTts
from voice.vad import SileroModel

WAV_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "voice"


@functools.cache
def _models() -> tuple[SileroModel, WhisperStt, HibariTts]:
    return SileroModel(), WhisperStt(), HibariTts()


def shared_engines(**settings: object) -> VoiceEngines:
    vad, stt, tts = _models()
    return VoiceEngines(vad, stt, tts, VoiceSettings(**settings), stt)  # type: ignore[arg-type]


@functools.cache
def spoken(text: str) -> Samples:
    """``text`` said by hibari, written to a 16 kHz WAV file and read back (as a phone would send it)."""
    tts = _models()[2]
    audio = np.concatenate(list(tts._engine.stream(text, seed=1)))
    pcm16k = resample(audio.astype(np.float32), tts.sample_rate, STT_RATE)
    WAV_DIR.mkdir(parents=True, exist_ok=True)
    path = WAV_DIR / ("".join(c if c.isalnum() else "_" for c in text)[:40] + ".wav")
    path.write_bytes(wav_bytes(pcm16k, STT_RATE))
    samples, rate = read_wav(path.read_bytes())
    assert rate == STT_RATE
    return samples


def with_silence(samples: Samples, before: float = 0.3, after: float = 0.9) -> Samples:
    return np.concatenate(
        [np.zeros(int(before * STT_RATE), np.float32), samples, np.zeros(int(after * STT_RATE), np.float32)]
    )


def frames(samples: Samples, ms: int = 64) -> list[bytes]:
    n = STT_RATE * ms // 1000
    pcm = wav_bytes(samples, STT_RATE)[44:]
    return [pcm[i : i + 2 * n] for i in range(0, len(pcm), 2 * n)]
