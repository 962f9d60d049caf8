"""Which engines run, chosen by settings; each model is loaded once per process and shared."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import structlog

from voice.ports import EngineUnavailable, SpeechToText, TextToSpeech
from voice.vad import SileroModel

log = structlog.get_logger("aegis.voice")
TtsChoice = Literal["hibari", "kokoro"]


@dataclass(frozen=True)
class VoiceSettings:
    tts: TtsChoice = "hibari"
    end_of_turn_ms: int = 500
    store_audio: bool = False  # keep the owner's recorded audio (encrypted) beside each transcript
    kokoro_dir: Path | None = None  # <data>/voice/kokoro
    deepgram_key: str | None = None  # read from the secrets folder by the composition root


@dataclass
class VoiceEngines:
    vad: SileroModel
    stt: SpeechToText
    tts: TextToSpeech
    settings: VoiceSettings
    local_stt: SpeechToText | None = None  # the offline engine, kept for when the cloud one fails


def build_engines(settings: VoiceSettings) -> VoiceEngines:
    """Deepgram when a key is configured, else faster-whisper; Kokoro when chosen and its weights
    are present, else hibari (an unavailable choice is logged, never silent)."""
    from voice.stt_local import WhisperStt
    from voice.tts_local import HibariTts

    local = WhisperStt()
    stt: SpeechToText = local
    if settings.deepgram_key:
        from voice.stt_deepgram import DeepgramStt

        stt = DeepgramStt(settings.deepgram_key)
    tts: TextToSpeech | None = None
    if settings.tts == "kokoro" and settings.kokoro_dir is not None:
        from voice.tts_kokoro import KokoroTts

        try:
            tts = KokoroTts(settings.kokoro_dir)
        except EngineUnavailable as exc:
            log.warning("kokoro unavailable, speaking with hibari", reason=str(exc))
    return VoiceEngines(SileroModel(), stt, tts or HibariTts(), settings, local)
