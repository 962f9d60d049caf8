"""The chat model the owner chose in the console, swapped without a restart.

:class:`SwitchableModel` is the :class:`agent.model.ModelPort` the chat service, the voice turns and
the briefing hold. It forwards each call to the current adapter; the console's Model page replaces
that adapter through :class:`ModelSettings` (built in ``aegis.model_root``, which knows where keys
live). A turn already running keeps the adapter it started with.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import urlsplit

from agent.model import Message, ModelError, ModelPort, ModelReply, TextSink, ToolSpec

Provider = Literal["anthropic", "openai"]
PROVIDERS: dict[str, str] = {
    "anthropic": "Claude (Anthropic)",
    "openai": "A server on your machine or network (OpenAI-compatible: Ollama, llama.cpp, vLLM)",
}
MAX_MODEL_ID = 120
NOT_CONFIGURED = "No model is configured."


class ChoiceError(ValueError):
    """The owner's choice cannot be used; the message says why in plain words."""


@dataclass(frozen=True)
class ModelChoice:
    provider: Provider
    model: str
    base_url: str | None = None

    def __post_init__(self) -> None:
        if self.provider not in PROVIDERS:
            raise ChoiceError("Choose Claude or an OpenAI-compatible server.")
        name = self.model.strip()
        if not name or len(name) > MAX_MODEL_ID or any(c.isspace() or not c.isprintable() for c in name):
            raise ChoiceError(f"The model name must be 1-{MAX_MODEL_ID} characters without spaces.")
        if self.base_url is not None:
            check_base_url(self.base_url)
        elif self.provider == "openai":
            raise ChoiceError("An OpenAI-compatible server needs its address, e.g. http://127.0.0.1:11434/v1.")

    @property
    def leaves_machine(self) -> bool:
        """True when conversations go to a host that is not this machine or a private network."""
        if self.provider == "anthropic" and self.base_url is None:
            return True
        return not is_private_host(urlsplit(self.base_url or "").hostname or "")

    @property
    def key_name(self) -> str:
        """The vault secret holding this provider's key."""
        return f"model.{self.provider}"

    def to_dict(self) -> dict[str, str | None]:
        return {"provider": self.provider, "model": self.model, "base_url": self.base_url}


def is_private_host(host: str) -> bool:
    """This machine or a private network: where conversations stay in the owner's hands."""
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local


def check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChoiceError("The address must start with http:// or https:// and name a host.")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ChoiceError("The address must not carry a user, password, query or fragment.")
    if parts.scheme == "http" and not is_private_host(parts.hostname):
        raise ChoiceError("Plain http:// is only allowed to this machine or a private network; use https://.")
    return url


@dataclass(frozen=True)
class ModelCheck:
    ok: bool
    message: str
    models: tuple[str, ...] = ()


class SwitchableModel:
    """A :class:`ModelPort` whose adapter the console can replace."""

    def __init__(self, current: ModelPort | None = None, choice: ModelChoice | None = None) -> None:
        self._current = current
        self.choice = choice
        self._on_close: Callable[[], Awaitable[None]] | None = None

    @property
    def ready(self) -> bool:
        return self._current is not None

    @property
    def model_id(self) -> str:
        return self._current.model_id if self._current is not None else ""

    async def swap(
        self, model: ModelPort | None, choice: ModelChoice | None, on_close: Callable[[], Awaitable[None]] | None
    ) -> None:
        """Use ``model`` from the next call on; ``on_close`` releases it when it is replaced."""
        previous = self._on_close
        self._current, self.choice, self._on_close = model, choice, on_close
        if previous is not None:
            await previous()

    async def close(self) -> None:
        await self.swap(None, self.choice, None)

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        max_tokens: int,
        on_text: TextSink | None = None,
    ) -> ModelReply:
        model = self._current
        if model is None:
            raise ModelError(NOT_CONFIGURED)
        return await model.complete(
            system=system, messages=messages, tools=tools, max_tokens=max_tokens, on_text=on_text
        )


def is_ready(model: ModelPort | None) -> bool:
    """A model that can answer now (a switchable one may be empty until the owner chooses)."""
    return model is not None and bool(getattr(model, "ready", True))


class ModelSettings(Protocol):
    """What the console's Model page may do: show the choice, check it, store it."""

    @property
    def choice(self) -> ModelChoice | None: ...

    @property
    def ready(self) -> bool: ...

    async def has_key(self, provider: Provider) -> bool: ...

    async def apply(self, choice: ModelChoice, key: str | None) -> ModelCheck:
        """Store ``key`` (if given) in the vault, build the model, check it answers, then use it."""
        ...
