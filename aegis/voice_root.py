"""Builds the voice engines for the console (once, at start; the models load in a worker thread)."""

from __future__ import annotations

import asyncio

import structlog
from fastapi import FastAPI

from aegis.model_root import secret_path
from aegis.runtime import Context
from storage.crypto.keyring import Keyring
from storage.db import Database
from voice.engines import VoiceEngines, VoiceSettings, build_engines
from voice.ports import VoiceError
from web.app import enable_voice

log = structlog.get_logger("aegis.voice")


def voice_settings(ctx: Context) -> VoiceSettings:
    s = ctx.settings
    key: str | None = None
    path = secret_path(ctx, "deepgram_api_key")
    if path is not None:
        from aegis.secrets import check_private_file

        check_private_file(path)
        key = path.read_text(encoding="utf-8").strip() or None
        if key:
            ctx.redactor.register(key)
    return VoiceSettings(
        tts=s.voice_tts,
        end_of_turn_ms=s.voice_end_of_turn_ms,
        store_audio=s.voice_store_audio,
        kokoro_dir=s.data_dir / "voice" / "kokoro",
        deepgram_key=key,
    )


async def build_voice(ctx: Context) -> VoiceEngines | None:
    """None when voice is turned off or its engines cannot load (the voice page then says so)."""
    if not ctx.settings.voice:
        return None
    settings = voice_settings(ctx)
    try:
        engines = await asyncio.to_thread(build_engines, settings)
    except VoiceError as exc:
        log.warning("voice is off", reason=str(exc))
        return None
    log.debug("voice ready", stt=engines.stt.name, tts=engines.tts.name)
    return engines


async def attach_voice(ctx: Context, app: FastAPI, db: Database, keyring: Keyring) -> None:
    try:
        engines = await build_voice(ctx)
    except Exception:  # a background task: say why voice is off, never die silently
        log.exception("voice engines failed to load; voice is off")
        return
    if engines is not None:
        enable_voice(app, engines, db, keyring)
