"""Builds the chat model: Claude (the default) or an OpenAI-compatible server, as the owner chose.

The choice (provider, model id, address) is made on the console's Model page and kept in
``<data>/model.json`` (mode 0600; no secret in it). Until then the settings decide:

* ``AEGIS_MODEL_PROVIDER=anthropic`` (default), ``AEGIS_MODEL``, and ``AEGIS_MODEL_BASE_URL``
  (optional) to send the requests through a proxy or gateway instead of ``https://api.anthropic.com``;
* ``AEGIS_MODEL_PROVIDER=openai``: any chat-completions server (Ollama ``http://127.0.0.1:11434/v1``,
  llama.cpp's server ``http://127.0.0.1:8080/v1``, vLLM ``http://127.0.0.1:8000/v1``) at
  ``AEGIS_MODEL_BASE_URL``.

Keys: the console stores them in the broker's vault (``model.anthropic``, ``model.openai``, bound to
the resource ``model:chat``). The console's own broker key can write there but cannot read anything;
reading takes the ``chat-model`` identity, whose ceiling is ``secrets.read`` on ``model:chat`` only.
Headless installs may still use the ``anthropic_api_key`` / ``model_api_key`` secret files.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anthropic
import httpx
import httpx2

from aegis.runtime import Context
from aegis.secrets import check_private_file
from agent.anthropic_model import AnthropicModel
from agent.model import ModelPort
from agent.model_switch import ChoiceError, ModelCheck, ModelChoice, Provider, SwitchableModel
from agent.openai_model import OpenAICompatibleModel
from tools._http import build_http_client
from tools.credentials import CredentialProvider
from tools.errors import IntegrationError
from web.vault import SecretMeta, VaultError

log = logging.getLogger(__name__)
MODEL_RESOURCE = "model:chat"
KEY_FILES: dict[str, str] = {"anthropic": "anthropic_api_key", "openai": "model_api_key"}
CHECK_TIMEOUT = 15.0
Closer = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Edges:
    """The network under the adapters; tests put fakes here (httpx for ours, httpx2 for Anthropic's SDK)."""

    http: httpx.AsyncClient | None = None
    sdk_http: httpx2.AsyncClient | None = None


class KeyStore(Protocol):
    """Where the console writes the model's key (the vault, write only)."""

    async def put(self, name: str, value: str, *, kind: str, resource: str) -> SecretMeta: ...


async def _keep() -> None:
    """Closing a client the caller owns is the caller's business."""


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


def choice_path(ctx: Context) -> Path:
    return ctx.settings.data_dir / "model.json"


def load_choice(ctx: Context) -> ModelChoice | None:
    """The owner's choice from the console, else the settings; None if neither names a usable model."""
    path = choice_path(ctx)
    if path.exists():
        try:
            check_private_file(path)
            doc = json.loads(path.read_text(encoding="utf-8"))
            return ModelChoice(str(doc["provider"]), str(doc["model"]), doc.get("base_url"))  # type: ignore[arg-type]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring %s (%s); using the settings' model", path, type(exc).__name__)
    s = ctx.settings
    try:
        return ModelChoice(s.model_provider, s.model, s.model_base_url)
    except ChoiceError:
        return None


def save_choice(ctx: Context, choice: ModelChoice) -> None:
    path = choice_path(ctx)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(choice.to_dict(), fh)
    os.replace(tmp, path)


def build(choice: ModelChoice, key: str | None, edges: Edges = Edges()) -> tuple[ModelPort, Closer]:
    """The adapter for ``choice`` and how to release it."""
    if choice.provider == "openai":
        # Local models can be slow to produce the first token: a long read timeout, a short connect one.
        client = build_http_client(timeout=300.0, connect_timeout=10.0) if edges.http is None else edges.http
        client.base_url = httpx.URL(choice.base_url or "")
        return OpenAICompatibleModel(client, choice.model, api_key=key), client.aclose if edges.http is None else _keep
    sdk = anthropic.AsyncAnthropic(api_key=key, base_url=choice.base_url, http_client=edges.sdk_http)
    return AnthropicModel(sdk, choice.model), sdk.close if edges.sdk_http is None else _keep


async def check(choice: ModelChoice, key: str | None, edges: Edges = Edges()) -> ModelCheck:
    """Ask the provider which models it offers (no tokens spent) and whether the chosen one is among them."""
    try:
        if choice.provider == "openai":
            client = edges.http or build_http_client(timeout=CHECK_TIMEOUT, connect_timeout=5.0)
            try:
                headers = {"Authorization": f"Bearer {key}"} if key else {}
                r = await client.get(f"{(choice.base_url or '').rstrip('/')}/models", headers=headers)
            finally:
                if edges.http is None:
                    await client.aclose()
            if r.status_code in (401, 403):
                return ModelCheck(False, "The server refused the key.")
            r.raise_for_status()
            ids = tuple(str(m.get("id")) for m in r.json().get("data", []) if isinstance(m, dict))
        else:
            sdk = anthropic.AsyncAnthropic(
                api_key=key, base_url=choice.base_url, max_retries=0, timeout=CHECK_TIMEOUT, http_client=edges.sdk_http
            )
            try:
                ids = tuple([m.id async for m in sdk.models.list(limit=100)])
            finally:
                if edges.sdk_http is None:
                    await sdk.close()
    except anthropic.AuthenticationError:
        return ModelCheck(False, "Anthropic refused the key.")
    except (anthropic.APIError, httpx.HTTPError, httpx2.HTTPError, ValueError) as exc:
        return ModelCheck(False, f"The model server could not be reached or answered badly ({type(exc).__name__}).")
    if ids and choice.model not in ids:
        return ModelCheck(False, f"The server does not offer {choice.model!r}.", ids)
    return ModelCheck(True, f"Connected: {choice.model} answers.", ids)


class ModelManager:
    """The console's Model page behind :class:`agent.model_switch.ModelSettings`."""

    def __init__(
        self,
        ctx: Context,
        switch: SwitchableModel,
        *,
        vault: KeyStore | None,
        keys: CredentialProvider | None,
        edges: Edges = Edges(),
    ) -> None:
        self._ctx, self._switch, self._vault, self._keys, self._edges = ctx, switch, vault, keys, edges

    @property
    def choice(self) -> ModelChoice | None:
        return self._switch.choice

    @property
    def ready(self) -> bool:
        return self._switch.ready

    async def key_for(self, provider: Provider) -> str | None:
        if self._keys is not None:
            try:
                value = await self._keys.get(f"model.{provider}")
                self._ctx.redactor.register(value)
                return value
            except IntegrationError:
                pass
        return _read_secret(self._ctx, KEY_FILES[provider])

    async def has_key(self, provider: Provider) -> bool:
        return await self.key_for(provider) is not None

    async def start(self) -> None:
        """At start-up: the stored choice with its stored key, if any."""
        choice = self._switch.choice
        if choice is None:
            return
        key = await self.key_for(choice.provider)
        if choice.provider == "anthropic" and key is None:
            return
        model, close = build(choice, key, self._edges)
        await self._switch.swap(model, choice, close)

    async def apply(self, choice: ModelChoice, key: str | None) -> ModelCheck:
        if key:
            self._ctx.redactor.register(key)
        use = key or await self.key_for(choice.provider)
        if choice.provider == "anthropic" and use is None:
            return ModelCheck(False, "Claude needs an Anthropic API key.")
        result = await check(choice, use, self._edges)
        if not result.ok:
            return result  # nothing stored, the previous model stays in use
        if key:
            if self._vault is None:
                return ModelCheck(False, "The console cannot write to the vault, so the key was not stored.")
            try:
                await self._vault.put(choice.key_name, key, kind="api-token", resource=MODEL_RESOURCE)
            except VaultError as exc:
                return ModelCheck(False, exc.message)
            if self._keys is not None:
                self._keys.invalidate(choice.key_name)
        model, close = build(choice, use, self._edges)
        save_choice(self._ctx, choice)
        await self._switch.swap(model, choice, close)
        return result
