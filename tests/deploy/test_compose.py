"""The deployed setup's security properties, read from deploy/compose.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "compose.yml"


def _compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return doc


def test_only_the_console_publishes_a_port_and_only_on_host_loopback() -> None:
    services = _compose()["services"]
    published = {name: s["ports"] for name, s in services.items() if "ports" in s}
    assert published == {"console": ["127.0.0.1:8420:8420"]}


def test_every_service_is_hardened() -> None:
    for name, s in _compose()["services"].items():
        assert s.get("read_only") is True, name
        assert s.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in s.get("security_opt", []), name
        assert s.get("network_mode") != "host" and "privileged" not in s, name
        if name != "postgres":  # the official image drops to its own user itself
            assert s.get("user") == "10001:10001", name


def test_the_broker_has_its_own_container_and_alone_holds_the_master_key() -> None:
    services = _compose()["services"]
    holders = [name for name, s in services.items() if "master_key" in s.get("secrets", [])]
    assert holders == ["broker"]
    assert services["broker"]["command"] == ["broker", "serve"]
    assert services["console"]["environment"]["AEGIS_BROKER_URL"] == "http://broker:8421"


def test_no_secret_is_passed_as_an_environment_variable() -> None:
    for name, s in _compose()["services"].items():
        for key, value in (s.get("environment") or {}).items():
            sensitive = any(w in key for w in ("PASSWORD", "SECRET", "TOKEN", "KEY")) and not key.endswith("_FILE")
            assert not sensitive, f"{name}: {key} looks like a secret in the environment"
            assert "://" not in str(value) or "@" not in str(value), f"{name}: {key} embeds credentials"


def test_the_database_sits_on_an_internal_network_only() -> None:
    doc = _compose()
    assert doc["services"]["postgres"]["networks"] == ["data"]
    assert doc["networks"]["data"] == {"internal": True}
    assert doc["networks"]["backend"] == {"internal": True}
    assert "egress" not in doc["services"]["broker"]["networks"]
