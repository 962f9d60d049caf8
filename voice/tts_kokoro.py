"""Kokoro-82M through ``kokoro-onnx``, used only when its weights are in the data folder.

The files are the ones kokoro-onnx documents: ``kokoro-v1.0.onnx`` (or the int8 variant) and
``voices-v1.0.bin``, placed by the operator in ``<data>/voice/kokoro/``. Nothing is downloaded here:
the ``kokoro`` PyTorch package fetches its weights from a model hub at start, which an offline
server cannot do, and ``kokoro-onnx`` is an optional package (it bundles GPL espeak-ng).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import numpy as np

from voice.audio import Samples
from voice.ports import EngineFailed, EngineUnavailable
from voice.sentences import SentenceCutter

MODELS = ("kokoro-v1.0.onnx", "kokoro-v1.0.int8.onnx")
VOICES = "voices-v1.0.bin"
SAMPLE_RATE = 24_000


def kokoro_files(folder: Path) -> tuple[Path, Path] | None:
    """(model, voices) when both are present, else None."""
    voices = folder / VOICES
    for name in MODELS:
        if (folder / name).is_file() and voices.is_file():
            return folder / name, voices
    return None


class KokoroTts:
    name = "kokoro"
    sample_rate = SAMPLE_RATE

    def __init__(self, folder: Path, *, voice: str = "af_heart", speed: float = 1.0) -> None:
        files = kokoro_files(folder)
        if files is None:
            raise EngineUnavailable(f"Kokoro's weights are not in {folder}")
        try:
            module: Any = importlib.import_module("kokoro_onnx")
        except ImportError as exc:
            raise EngineUnavailable("kokoro-onnx is not installed") from exc
        self._engine: Any = module.Kokoro(str(files[0]), str(files[1]))
        self._voice, self._speed = voice, speed
        self._lock = asyncio.Lock()

    def _render(self, sentence: str) -> Samples:
        audio, _rate = self._engine.create(sentence, voice=self._voice, speed=self._speed, lang="en-us")
        return np.asarray(audio, dtype=np.float32)

    async def synthesize(self, text: str) -> AsyncGenerator[Samples, None]:
        cutter = SentenceCutter()
        async with self._lock:
            for sentence in [*cutter.feed(text), *cutter.flush()]:
                try:
                    yield await asyncio.to_thread(self._render, sentence)
                except (RuntimeError, ValueError, KeyError) as exc:
                    raise EngineFailed(f"Kokoro failed: {type(exc).__name__}") from exc
