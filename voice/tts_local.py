"""Text to speech offline: hibari (Apache-2.0), whose "heart" voice ships inside its wheel.

Only "heart" is used: hibari's other voices download on first use, which an offline server cannot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import numpy as np

from voice.audio import Samples
from voice.ports import EngineFailed, EngineUnavailable

VOICE = "heart"


class HibariTts:
    name = "hibari"

    def __init__(self, *, threads: int = 1, speed: float = 1.0) -> None:
        try:
            from hibari import SAMPLE_RATE, Hibari
        except ImportError as exc:
            raise EngineUnavailable("hibari-tts is not installed") from exc
        self._engine: Any = Hibari(voice=VOICE, threads=threads)
        self.sample_rate = int(SAMPLE_RATE)
        self._speed = speed
        self._lock = asyncio.Lock()
        self._engine.g2p  # noqa: B018 - load the G2P now, not on the first sentence

    def _sentences(self, text: str) -> list[str]:
        return [str(p) for p in self._engine.phonemize(text)]

    def _render(self, phonemes: str) -> Samples:
        audio = self._engine.from_ids(self._engine.ids(phonemes), self._speed)
        return np.asarray(audio, dtype=np.float32)

    async def synthesize(self, text: str) -> AsyncGenerator[Samples, None]:
        async with self._lock:
            try:
                chunks = await asyncio.to_thread(self._sentences, text)
                for phonemes in chunks:
                    yield await asyncio.to_thread(self._render, phonemes)
            except (RuntimeError, ValueError, KeyError) as exc:
                raise EngineFailed(f"speech synthesis failed: {type(exc).__name__}") from exc
