"""Builds the chat model from the settings: Claude (the default) or an OpenAI-compatible server.

* ``AEGIS_MODEL_PROVIDER=anthropic`` (default): needs the ``anthropic_api_key`` secret file;
  ``AEGIS_MODEL_BASE_URL`` (optional) sends the requests through a proxy or gateway instead of
  ``https://api.anthropic.com``.
* ``AEGIS_MODEL_PROVIDER=openai``: any chat-completions server (Ollama ``http://127.0.0.1:11434/v1``,
  llama.cpp's server ``http://127.0.0.1:8080/v1``, vLLM ``http://127.0.0.1:8000/v1``), at
  ``AEGIS_MODEL_BASE_URL``, with ``AEGIS_MODEL`` naming the model; the ``model_api_key`` secret file is
  optional (sent as a bearer token).
"""

from __future__ import annotations

from pathlib import Path

import anthropic
import httpx

from aegis.runtime import Context
from aegis.secrets import check_private_file
from agent.anthropic_model import AnthropicModel
from agent.model import ModelPort
from agent.openai_model import OpenAICompatibleModel
from tools._http import build_http_client


def secret_path(ctx: Context, name: str) -> Path | None:
    found = ctx.secrets.path_for(name)
    if found is not None:
        return found
    local = ctx.settings.data_dir / "secrets" / name
    return local if not ctx.settings.production and local.exists() else None


def _read_secret(ctx: Context, name: str) -> str | None:
    path = secret_path(ctx, name)
    if path is None:
        return None
    check_private_file(path)
    value = path.read_text(encoding="utf-8").strip()
    ctx.redactor.register(value)
    return value or None


def build_model(ctx: Context) -> tuple[ModelPort | None, httpx.AsyncClient | None]:
    """The model and the HTTP client to close with it; (None, None) when chat is not configured."""
    s = ctx.settings
    if s.model_provider == "openai":
        if not s.model_base_url:
            return None, None
        # Local models can be slow to produce the first token: a long read timeout, a short connect one.
        http = build_http_client(timeout=300.0, connect_timeout=10.0)
        http.base_url = httpx.URL(s.model_base_url)
        return OpenAICompatibleModel(http, s.model, api_key=_read_secret(ctx, "model_api_key")), http
    key = _read_secret(ctx, "anthropic_api_key")
    if key is None:
        return None, None
    client = anthropic.AsyncAnthropic(api_key=key, base_url=s.model_base_url)
    return AnthropicModel(client, s.model), None
