"""Which model Aegis uses: the settings, then the owner's choice from the console, with keys from the
vault (or secret files), checked against the provider before anything is stored or swapped."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pytest

from aegis.logs import Redactor
from aegis.model_root import Edges, ModelManager, build, check, load_choice
from aegis.runtime import Context
from aegis.secrets import SecretSource
from aegis.settings import Settings
from agent.anthropic_model import AnthropicModel
from agent.model import ModelError
from agent.model_switch import ChoiceError, ModelChoice, SwitchableModel
from tests.aegis.model_fakes import anthropic_server, openai_server
from tools.credentials import StaticCredentials
from web.vault import SecretMeta, VaultError

pytestmark = pytest.mark.anyio
LOCAL = "http://127.0.0.1:11434/v1"


def _ctx(tmp_path: Path, **settings: object) -> Context:
    s = Settings(data_dir=tmp_path, secrets_dir=tmp_path / "run-secrets", **settings)  # type: ignore[arg-type]
    return Context(s, SecretSource(s.secrets_dir, production=False, environ={}), Redactor())


def _secret(tmp_path: Path, name: str, value: str) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / name).write_text(value)
    (folder / name).chmod(0o600)


class FakeVault:
    """The console's vault port: records what was stored (the broker path is tested in tests/web)."""

    def __init__(self, fail: str | None = None) -> None:
        self.stored: dict[str, tuple[str, str]] = {}
        self.fail = fail

    @property
    def resources(self) -> tuple[str, ...]:
        return ("model:chat",)

    async def put(self, name: str, value: str, *, kind: str, resource: str) -> SecretMeta:
        if self.fail:
            raise VaultError(self.fail)
        self.stored[name] = (value, resource)
        return SecretMeta(name, kind, resource, 1, None)


async def _say(model: SwitchableModel) -> str:
    reply = await model.complete(system="s", messages=[{"role": "user", "content": "hi"}], tools=[], max_tokens=50)
    return reply.text


def test_choices_are_checked() -> None:
    assert ModelChoice("openai", "llama3.2", LOCAL).leaves_machine is False
    assert ModelChoice("anthropic", "claude-sonnet-4-6").leaves_machine is True
    assert ModelChoice("openai", "m", "https://models.example.org/v1").leaves_machine is True
    with pytest.raises(ChoiceError, match="needs its address"):
        ModelChoice("openai", "llama3.2")
    with pytest.raises(ChoiceError, match="only allowed to this machine"):
        ModelChoice("openai", "m", "http://models.example.org/v1")  # conversations in clear text
    with pytest.raises(ChoiceError, match="user, password"):
        ModelChoice("openai", "m", "http://user:pw@127.0.0.1:8080/v1")
    with pytest.raises(ChoiceError, match="without spaces"):
        ModelChoice("anthropic", "claude sonnet")
    with pytest.raises(ChoiceError, match="http:// or https://"):
        ModelChoice("openai", "m", "ftp://127.0.0.1/v1")


async def test_settings_decide_until_the_owner_chooses(tmp_path: Path) -> None:
    assert load_choice(_ctx(tmp_path)) == ModelChoice("anthropic", "claude-sonnet-4-6")
    assert load_choice(_ctx(tmp_path, model_provider="openai")) is None  # no address: nothing usable
    ctx = _ctx(tmp_path, model_base_url="http://127.0.0.1:9999/anthropic")
    model, _ = build(load_choice(ctx) or ModelChoice("anthropic", "x"), "sk-ant-test")
    assert isinstance(model, AnthropicModel)
    assert str(model._client.base_url).startswith("http://127.0.0.1:9999/anthropic")


async def test_no_key_no_model_and_a_clear_error(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    switch = SwitchableModel(choice=load_choice(ctx))
    manager = ModelManager(ctx, switch, vault=FakeVault(), keys=StaticCredentials({}))
    await manager.start()
    assert not switch.ready and not manager.ready
    with pytest.raises(ModelError, match="No model is configured"):
        await _say(switch)
    result = await manager.apply(ModelChoice("anthropic", "claude-sonnet-4-6"), None)
    assert not result.ok and "needs an Anthropic API key" in result.message


async def test_a_key_file_still_works_for_headless_installs(tmp_path: Path) -> None:
    _secret(tmp_path, "model_api_key", "local-key-value")
    ctx = _ctx(tmp_path, model_provider="openai", model="llama3.2", model_base_url=LOCAL)
    server = openai_server(["llama3.2"], key="local-key-value")
    switch = SwitchableModel(choice=load_choice(ctx))
    await ModelManager(ctx, switch, vault=None, keys=None, edges=Edges(http=server)).start()
    assert switch.ready and switch.model_id == "llama3.2"
    assert await _say(switch) == "hello from llama3.2"


async def test_choosing_a_local_server_in_the_console_switches_without_a_restart(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    seen: list[str] = []
    server = openai_server(["llama3.2", "qwen3"], key="vllm-key", seen=seen)
    vault, keys = FakeVault(), StaticCredentials({})
    switch = SwitchableModel(choice=load_choice(ctx))
    manager = ModelManager(ctx, switch, vault=vault, keys=keys, edges=Edges(http=server))
    result = await manager.apply(ModelChoice("openai", "qwen3", LOCAL), "vllm-key")
    assert result.ok and result.models == ("llama3.2", "qwen3")
    assert seen[0] == f"GET {LOCAL}/models Bearer vllm-key"
    assert vault.stored == {"model.openai": ("vllm-key", "model:chat")}
    assert "model.openai" in keys.invalidated  # the next read takes the vault's new value
    assert await _say(switch) == "hello from qwen3"
    path = tmp_path / "model.json"
    assert json.loads(path.read_text()) == {"provider": "openai", "model": "qwen3", "base_url": LOCAL}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and "vllm-key" not in path.read_text()
    assert load_choice(ctx) == ModelChoice("openai", "qwen3", LOCAL)  # and after a restart
    assert "vllm-key" not in ctx.redactor.scrub("the key vllm-key")  # never in a log line


@pytest.mark.parametrize(
    ("models", "key", "typed", "message"),
    [
        (["llama3.2"], None, None, "does not offer 'qwen3'"),
        (["qwen3"], "right", "wrong", "refused the key"),
    ],
)
async def test_a_failed_check_stores_nothing_and_keeps_the_model(
    tmp_path: Path, models: list[str], key: str | None, typed: str | None, message: str
) -> None:
    ctx = _ctx(tmp_path)
    before = ModelChoice("openai", "llama3.2", LOCAL)
    server = openai_server([*models, "llama3.2"], key=key)
    vault = FakeVault()
    switch = SwitchableModel(choice=before)
    manager = ModelManager(ctx, switch, vault=vault, keys=StaticCredentials({"model.openai": "right"}),
                           edges=Edges(http=server))  # fmt: skip
    await manager.start()
    assert switch.ready
    result = await manager.apply(ModelChoice("openai", "qwen3", LOCAL), typed)
    assert not result.ok and message in result.message
    assert vault.stored == {} and not (tmp_path / "model.json").exists()
    assert switch.choice == before and await _say(switch) == "hello from llama3.2"


async def test_an_unreachable_server_is_said_plainly(tmp_path: Path) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    edges = Edges(http=httpx.AsyncClient(transport=httpx.MockTransport(down)))
    result = await check(ModelChoice("openai", "llama3.2", LOCAL), None, edges)
    assert not result.ok and "could not be reached" in result.message and "ConnectError" in result.message


async def test_a_vault_refusal_stores_nothing(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    switch = SwitchableModel()
    manager = ModelManager(ctx, switch, vault=FakeVault(fail="unreachable"), keys=StaticCredentials({}),
                           edges=Edges(http=openai_server(["m"])))  # fmt: skip
    result = await manager.apply(ModelChoice("openai", "m", LOCAL), "k")
    assert not result.ok and "restarting" in result.message
    assert not switch.ready and not (tmp_path / "model.json").exists()


async def test_claude_is_checked_through_the_sdk(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    sdk = anthropic_server(["claude-opus-4-6", "claude-sonnet-4-6"], key="sk-ant-good")
    vault = FakeVault()
    switch = SwitchableModel()
    manager = ModelManager(ctx, switch, vault=vault, keys=StaticCredentials({}), edges=Edges(sdk_http=sdk))
    bad = await manager.apply(ModelChoice("anthropic", "claude-sonnet-4-6"), "sk-ant-bad")
    assert not bad.ok and bad.message == "Anthropic refused the key." and vault.stored == {}
    good = await manager.apply(ModelChoice("anthropic", "claude-sonnet-4-6"), "sk-ant-good")
    assert good.ok and vault.stored["model.anthropic"] == ("sk-ant-good", "model:chat")
    assert switch.ready and switch.model_id == "claude-sonnet-4-6"


async def test_a_damaged_choice_file_falls_back_to_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text('{"provider": "openai", "model": "x"}')  # no address
    path.chmod(0o600)
    assert load_choice(_ctx(tmp_path)) == ModelChoice("anthropic", "claude-sonnet-4-6")
