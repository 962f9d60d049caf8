"""The voice page (talk to Aegis; the audio goes over ``/voice/ws``) and recording uploads.

An uploaded recording is transcribed by the configured engine (Deepgram when its key is set, the
local one otherwise) and stored encrypted. It is labelled as a recording, never as the owner's
words: anyone's voice can be in it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from starlette.responses import Response

from voice.engines import VoiceEngines
from voice.ports import VoiceError
from voice.store import TranscriptStore
from voice.transcription import RecordingTranscriber
from web.guard import CurrentPrincipal
from web.security import allow_microphone
from web.state import console

router = APIRouter()
MAX_UPLOAD = 50 * 1024 * 1024
NAME_CHARS = 120


def voice_of(request: Request) -> tuple[VoiceEngines | None, TranscriptStore | None]:
    engines = getattr(request.app.state, "voice", None)
    store = getattr(request.app.state, "voice_store", None)
    return (
        engines if isinstance(engines, VoiceEngines) else None,
        store if isinstance(store, TranscriptStore) else None,
    )


async def _page(
    request: Request, principal: CurrentPrincipal, *, message: str | None = None, status: int = 200
) -> Response:
    c = console(request)
    engines, store = voice_of(request)
    agent = getattr(request.app.state, "agent", None)
    ctx: dict[str, Any] = {
        "nav": "voice",
        "csrf": c.keys.csrf_token(principal.session_id),
        "running": engines is not None and store is not None,
        "model": bool(agent is not None and agent.model_configured),
        "stt": engines.stt.name if engines else None,
        "tts": engines.tts.name if engines else None,
        "uploads": await store.recent(kind="upload", limit=20) if store else [],
        "message": message,
    }
    allow_microphone(request.scope)
    return c.templates.TemplateResponse(request, "voice.html", ctx, status_code=status)


@router.get("/voice")
async def voice_page(request: Request, principal: CurrentPrincipal) -> Response:
    return await _page(request, principal)


@router.post("/voice/transcribe")
async def transcribe(
    request: Request, principal: CurrentPrincipal, recording: Annotated[UploadFile, File()]
) -> Response:
    engines, store = voice_of(request)
    if engines is None or store is None:
        return await _page(request, principal, message="Voice is not running on this server.", status=503)
    data = await recording.read(MAX_UPLOAD + 1)
    if not data or len(data) > MAX_UPLOAD:
        return await _page(request, principal, message="Send a recording of at most 50 MB.", status=413)
    name = (recording.filename or "recording")[:NAME_CHARS]
    try:
        transcript = await RecordingTranscriber(engines.stt, engines.local_stt).transcribe(data)
    except VoiceError as exc:
        return await _page(request, principal, message=f"Not transcribed: {exc}", status=422)
    await store.add(
        kind="upload", speaker="recording", text=transcript.text, engine=transcript.engine,
        seconds=transcript.audio_seconds, name=name,
    )  # fmt: skip
    return await _page(request, principal, message=f"Transcribed {name} ({transcript.audio_seconds:.0f} s).")
