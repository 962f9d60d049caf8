"""Sentence cutting, the playout clock, PCM and WAV helpers, and the VAD's turn edges on real speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.voice.engines import shared_engines, spoken, with_silence
from voice.audio import STT_RATE, float_to_pcm16, pcm16_to_float, read_wav, resample, wav_bytes
from voice.playout import INTERRUPTED, Playout
from voice.ports import EngineUnavailable
from voice.sentences import SentenceCutter
from voice.stt_local import MIN_WINDOW, drop_repeats, fitted_window
from voice.tts_kokoro import KokoroTts, kokoro_files
from voice.vad import Edge, TurnDetector


def test_sentences_come_out_as_soon_as_they_end() -> None:
    cut = SentenceCutter()
    assert cut.feed("Your balance is ") == []
    assert cut.feed("twelve dollars. And") == ["Your balance is twelve dollars."]
    assert cut.feed(" more") == []
    assert cut.flush() == ["And more"]


def test_a_long_first_sentence_is_cut_at_its_first_clause() -> None:
    cut = SentenceCutter()
    out = cut.feed("Checking your accounts this morning, I found three payments ")
    assert out == ["Checking your accounts this morning,"]
    assert cut.feed("due, and none late ") == []  # only the first sentence is cut early


def test_a_long_first_sentence_without_a_clause_starts_with_a_few_words() -> None:
    cut = SentenceCutter()
    assert cut.feed("Your checking account holds 3,624 dollars. The card ") == [
        "Your checking account holds",
        "3,624 dollars.",
    ]
    assert cut.feed("owes 1,290 dollars, due on Friday. ") == ["The card owes 1,290 dollars, due on Friday."]
    streamed = SentenceCutter()
    assert streamed.feed("Your checking account holds 3,6") == []
    assert streamed.feed("24 dollars") == ["Your checking account holds"]
    assert streamed.feed(" today. ") == ["3,624 dollars today."]


def test_heard_text_follows_the_playout_clock() -> None:
    p = Playout()
    first = p.begin_piece("One two three four.")
    p.sent(first, 2.0)
    second = p.begin_piece("Five six seven eight.")
    p.sent(second, 2.0)
    assert p.heard(p.clock + 1.0) == "One two" + INTERRUPTED
    assert p.heard(p.clock + 3.0) == "One two three four. Five six" + INTERRUPTED
    assert p.heard(p.clock + 5.0) == "One two three four. Five six seven eight."
    assert p.playing(p.clock + 3.9) and not p.playing(p.clock + 4.1)
    assert Playout().heard() == ""


def test_pcm_and_wav_round_trip() -> None:
    tone = (0.5 * np.sin(np.linspace(0, 200 * np.pi, 4800))).astype(np.float32)
    back = pcm16_to_float(float_to_pcm16(tone))
    assert np.max(np.abs(back - tone)) < 1e-4
    samples, rate = read_wav(wav_bytes(tone, 48_000))
    assert rate == 48_000 and samples.size == 4800
    assert resample(samples, 48_000, STT_RATE).size == 1600


def test_vad_finds_the_turn_in_real_speech() -> None:
    engines = shared_engines(end_of_turn_ms=500)
    speech = spoken("What is my balance today?")
    audio = with_silence(speech, before=0.5, after=1.0)
    det = TurnDetector(engines.vad, end_ms=500)
    edges: list[tuple[Edge, float]] = []
    step = 1600
    for i in range(0, audio.size, step):
        edges += [(e, (i + step) / STT_RATE) for e in det.feed(audio[i : i + step])]
    assert [e for e, _ in edges] == [Edge.SPEECH_START, Edge.TURN_END]
    speech_end = 0.5 + speech.size / STT_RATE
    assert 0.3 < edges[0][1] < 1.2
    assert speech_end - 0.2 < edges[1][1] < speech_end + 1.0  # the WAV ends with a little silence of its own


@pytest.mark.anyio
async def test_whisper_transcribes_the_offline_wav() -> None:
    engines = shared_engines()
    t = await engines.stt.transcribe(spoken("What is my balance today?"))
    assert "balance" in t.text.lower() and t.engine == "whisper"
    assert t.audio_seconds > 1.0


def test_kokoro_is_used_only_when_its_weights_are_present(tmp_path: Path) -> None:
    assert kokoro_files(tmp_path) is None
    with pytest.raises(EngineUnavailable, match="weights"):
        KokoroTts(tmp_path)
    (tmp_path / "kokoro-v1.0.int8.onnx").write_bytes(b"x")
    assert kokoro_files(tmp_path) is None  # the voices file is needed too
    (tmp_path / "voices-v1.0.bin").write_bytes(b"x")
    assert kokoro_files(tmp_path) == (tmp_path / "kokoro-v1.0.int8.onnx", tmp_path / "voices-v1.0.bin")
    with pytest.raises(EngineUnavailable, match="kokoro-onnx"):  # an optional package, not installed here
        KokoroTts(tmp_path)


def test_a_short_window_loop_is_kept_once() -> None:
    assert drop_repeats("What is my balance? What is my balance? What") == "What is my balance?"
    assert drop_repeats("No. No. Stop it now. Stop it now.") == "No. No. Stop it now."
    assert drop_repeats("Call Anna. Then call Ben.") == "Call Anna. Then call Ben."
    assert fitted_window(2.0) == MIN_WINDOW and fitted_window(12.0) == 15.0 and fitted_window(40.0) == 30.0
