"""Which model ``aegis up`` builds from the settings and secret files."""

from __future__ import annotations

from pathlib import Path

import pytest

from aegis.logs import Redactor
from aegis.model_root import build_model
from aegis.runtime import Context
from aegis.secrets import SecretSource
from aegis.settings import Settings
from agent.anthropic_model import AnthropicModel
from agent.openai_model import OpenAICompatibleModel

pytestmark = pytest.mark.anyio


def _ctx(tmp_path: Path, **settings: object) -> Context:
    s = Settings(data_dir=tmp_path, secrets_dir=tmp_path / "run-secrets", **settings)  # type: ignore[arg-type]
    return Context(s, SecretSource(s.secrets_dir, production=False, environ={}), Redactor())


def _secret(tmp_path: Path, name: str, value: str) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / name).write_text(value)
    (folder / name).chmod(0o600)


async def test_no_key_no_model(tmp_path: Path) -> None:
    assert build_model(_ctx(tmp_path)) == (None, None)


async def test_claude_with_a_proxy_base_url(tmp_path: Path) -> None:
    _secret(tmp_path, "anthropic_api_key", "sk-ant-test-value")
    model, http = build_model(_ctx(tmp_path, model_base_url="http://127.0.0.1:9999/anthropic"))
    assert isinstance(model, AnthropicModel) and http is None
    assert str(model._client.base_url).startswith("http://127.0.0.1:9999/anthropic")


async def test_openai_compatible_server_with_optional_key(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, model_provider="openai", model="llama3.2", model_base_url="http://127.0.0.1:11434/v1")
    model, http = build_model(ctx)
    assert isinstance(model, OpenAICompatibleModel) and http is not None
    assert model.model_id == "llama3.2" and model._api_key is None
    assert str(http.base_url) == "http://127.0.0.1:11434/v1/"
    await http.aclose()
    _secret(tmp_path, "model_api_key", "local-key-value")
    model, http = build_model(ctx)
    assert isinstance(model, OpenAICompatibleModel) and model._api_key == "local-key-value"
    assert http is not None
    await http.aclose()


async def test_openai_without_a_base_url_is_not_configured(tmp_path: Path) -> None:
    assert build_model(_ctx(tmp_path, model_provider="openai")) == (None, None)
