"""The Model page: which model answers in chat, voice and the briefings, and where its key lives.

Claude is the default; any OpenAI-compatible server (Ollama, llama.cpp's server, vLLM) keeps the
conversations on the owner's machine. Changing the model decides where every conversation and tool
result is sent, so it needs a fresh authenticator code, like writing a secret. The key goes one way:
from the form to the broker's vault (bound to ``model:chat``); it is never shown, logged or audited.
The choice is checked against the provider (its model list; no tokens spent) before anything is
stored, and a failed check keeps the model in use.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from agent.model_switch import PROVIDERS, ChoiceError, ModelChoice, ModelSettings, Provider
from web.auditing import ADMIN
from web.errors import StepUpRequired, TooManyAttempts
from web.guard import CurrentPrincipal, Principal, require_step_up
from web.routes.chat import agent_of
from web.state import console

router = APIRouter()
MAX_KEY = 4096
SUGGESTED = {
    "anthropic": ("claude-sonnet-4-6", "claude-opus-4-6", "claude-haiku-4-5"),
    "openai": ("llama3.2", "qwen3", "mistral-small3.2"),
}
LIMITS = {
    "anthropic": "Claude uses tools well and caches the stable part of each request. Conversations, "
    "including what tools read, are sent to Anthropic (or to the proxy you name).",
    "openai": "Conversations stay on the machine or network you name. Tool use is only as good as the local "
    "model: small models miss tools or write malformed arguments, and the turn then stops with a plain "
    "message. There is no prompt caching, and token usage is known only when the server reports it.",
}


def _settings(request: Request) -> ModelSettings | None:
    agent = agent_of(request)
    return agent.models if agent is not None else None


async def _page(
    request: Request, principal: Principal, status: int = 200, *, error: str | None = None, **form: str
) -> Response:
    c, models = console(request), _settings(request)
    choice = models.choice if models is not None else None
    keys = {p: await models.has_key(p) for p in ("anthropic", "openai")} if models is not None else {}
    ctx: dict[str, Any] = {
        "nav": "model",
        "models": models,
        "choice": choice,
        "keys": keys,
        "providers": PROVIDERS,
        "suggested": SUGGESTED,
        "limits": LIMITS,
        "error": error,
        "saved": request.query_params.get("notice") == "saved",
        "form": {
            "provider": form.get("provider") or (choice.provider if choice else "anthropic"),
            "model": form.get("model") or (choice.model if choice else SUGGESTED["anthropic"][0]),
            "base_url": form.get("base_url") or (choice.base_url or "" if choice else ""),
        },
        "csrf": c.keys.csrf_token(principal.session_id),
    }
    return c.templates.TemplateResponse(request, "model.html", ctx, status_code=status)


@router.get("/model")
async def model_page(request: Request, principal: CurrentPrincipal) -> Response:
    return await _page(request, principal)


async def _audit(request: Request, principal: Principal, result: str, reason: str | None, **details: Any) -> None:
    """The provider, model and host; never the key (only whether one was typed)."""
    c = console(request)
    async with c.db.transaction() as s:
        await c.auditor.record(
            s,
            request,
            actor=ADMIN,
            action="model.choose",
            result=result,
            resource="model:chat",
            reason=reason,
            details={"sid": principal.session_id, **details},
        )


@router.post("/model")
async def model_choose(request: Request, principal: CurrentPrincipal) -> Response:
    raw = await request.form()
    field = {n: v.strip() if isinstance(v := raw.get(n), str) else "" for n in ("provider", "model", "base_url")}
    key_raw = raw.get("api_key")
    key = key_raw.strip() if isinstance(key_raw, str) else ""
    models = _settings(request)
    try:
        await require_step_up(request, principal)
    except (StepUpRequired, TooManyAttempts):
        error = "That authenticator code was not accepted; nothing was changed. Type the key again."
        return await _page(request, principal, 422, error=error, **field)
    if models is None:
        return await _page(request, principal, 503, error="The model cannot be changed from this console.", **field)
    if len(key) > MAX_KEY or any(ch.isspace() or not ch.isprintable() for ch in key):
        return await _page(request, principal, 422, error="That key has spaces or invisible characters.", **field)
    provider: Provider = "openai" if field["provider"] == "openai" else "anthropic"
    try:
        choice = ModelChoice(provider, field["model"], field["base_url"] or None)
    except ChoiceError as exc:
        await _audit(request, principal, "fail", "invalid_choice", provider=provider)
        return await _page(request, principal, 422, error=str(exc), **field)
    result = await models.apply(choice, key or None)
    details = {"provider": provider, "model": choice.model, "host": urlsplit(choice.base_url or "").hostname}
    await _audit(request, principal, "ok" if result.ok else "fail", None if result.ok else "check_failed",
                 key_typed=bool(key), **details)  # fmt: skip
    if not result.ok:
        error = f"{result.message} Nothing was stored; the model in use did not change."
        return await _page(request, principal, 422, error=error, **field)
    return RedirectResponse("/model?notice=saved", status_code=303)
