"""The deployed setup's security rules, read from deploy/compose.yml and checked one by one.

Docker is not available where these tests run, so the file is validated by two independent
implementations from PyPI (the Compose specification's JSON schema via check-jsonschema, and
podman-compose's parser) and every rule the owner set is asserted on the parsed document.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yml"
DIGEST = re.compile(r"^[\w./-]+(:[\w.-]+)?@sha256:[0-9a-f]{64}$")
SENSITIVE = ("PASSWORD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "DSN")


def _compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return doc


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def _networks(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    nets = service.get("networks", {})
    if isinstance(nets, list):
        return {n: {} for n in nets}
    return {n: (v or {}) for n, v in nets.items()}


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


# ---- validation by Compose implementations -----------------------------------------------------


def test_the_compose_specification_schema_accepts_the_file() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_schema_check_does_reject_a_misspelt_key(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yml"
    bad.write_text(COMPOSE.read_text(encoding="utf-8").replace("cap_drop:", "cap_dorp:", 1), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0 and "cap_dorp" in run.stdout


@pytest.mark.parametrize("profile", [None, "ops"])
def test_podman_compose_parses_and_resolves_the_file(profile: str | None) -> None:
    args = [sys.executable, "-m", "podman_compose", "--dry-run", "-f", str(COMPOSE)]
    if profile:
        args += ["--profile", profile]
    run = subprocess.run([*args, "config"], capture_output=True, text=True, timeout=60, cwd=DEPLOY)
    assert run.returncode == 0, run.stderr
    resolved = yaml.safe_load(run.stdout)
    # The YAML anchors were merged: each service carries the hardening itself.
    assert resolved["services"]["broker"]["cap_drop"] == ["ALL"]
    assert resolved["secrets"]["tunnel_token"]["file"].endswith("/run/aegis-secrets/tunnel_token")


# ---- no way in but the tunnel ---------------------------------------------------------------------


def test_no_port_is_published_to_the_host_in_any_profile() -> None:
    for name, s in _services().items():
        assert "ports" not in s, name
        assert s.get("network_mode") is None, name


def test_the_tunnel_is_cloudflared_with_its_token_as_a_docker_secret() -> None:
    tunnel = _services()["cloudflared"]
    assert tunnel["image"].startswith("docker.io/cloudflare/cloudflared:")
    cmd = tunnel["command"]
    assert cmd[cmd.index("--token-file") + 1] == "/run/secrets/tunnel_token"
    assert "tunnel_token" in tunnel["secrets"]
    assert not any("TOKEN" in k for k in _env(tunnel)), "the tunnel token must not be an environment variable"
    assert "--token" not in cmd


# ---- containers -----------------------------------------------------------------------------------


def test_every_container_is_non_root_read_only_capability_free_and_seccomp_confined() -> None:
    for name, s in _services().items():
        assert s.get("read_only") is True, name
        assert s.get("cap_drop") == ["ALL"], name
        assert not s.get("cap_add"), f"{name} adds capabilities"
        opts = s.get("security_opt", [])
        assert "no-new-privileges:true" in opts, name
        assert "seccomp=./seccomp/aegis.json" in opts, name
        assert "privileged" not in s and s.get("pid") != "host" and s.get("ipc") != "host", name
        uid, _, gid = str(s.get("user", "")).partition(":")
        assert uid.isdigit() and int(uid) != 0 and gid.isdigit() and int(gid) != 0, f"{name} runs as root"


def test_every_service_has_a_health_check() -> None:
    for name, s in _services().items():
        check = s.get("healthcheck")
        assert check and not check.get("disable") and check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_every_image_is_pinned_by_digest() -> None:
    for name, s in _services().items():
        if "build" in s:
            continue
        assert DIGEST.match(s["image"]), f"{name}: {s['image']} is not pinned by digest"
    for dockerfile in DEPLOY.glob("*Dockerfile"):
        froms = re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(encoding="utf-8"), re.M)
        assert froms and all(DIGEST.match(f) for f in froms), (dockerfile.name, froms)


def test_the_app_image_runs_as_its_own_user() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.findall(r"^USER\s+(\S+)", text, re.M)[-1] == "10001:10001"


def test_the_seccomp_profile_denies_by_default_and_allows_no_escape_hatches() -> None:
    import json

    profile = json.loads((DEPLOY / "seccomp" / "aegis.json").read_text(encoding="utf-8"))
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    allowed = {n for rule in profile["syscalls"] if rule["action"] == "SCMP_ACT_ALLOW" for n in rule["names"]}
    for dangerous in (
        "mount",
        "umount2",
        "unshare",
        "setns",
        "ptrace",
        "bpf",
        "keyctl",
        "add_key",
        "init_module",
        "kexec_load",
        "perf_event_open",
        "userfaultfd",
        "io_uring_setup",
        "open_by_handle_at",
        "clock_settime",
        "reboot",
        "chroot",
        "pivot_root",
    ):
        assert dangerous not in allowed, dangerous
    # What Python, PostgreSQL and Go programs cannot start without.
    for needed in ("futex", "epoll_pwait", "mmap", "openat", "socket", "clone", "execve", "shmget", "getrandom"):
        assert needed in allowed, needed
    clone = next(r for r in profile["syscalls"] if r["names"] == ["clone"])
    assert clone["args"][0]["op"] == "SCMP_CMP_MASKED_EQ"  # no new namespaces


# ---- secrets ------------------------------------------------------------------------------------


def test_no_secret_is_an_environment_variable() -> None:
    for name, s in _services().items():
        assert "env_file" not in s, name
        for key, value in _env(s).items():
            sensitive = any(w in key for w in SENSITIVE) and not key.endswith("_FILE")
            assert not sensitive, f"{name}: {key} looks like a secret in the environment"
            assert not re.search(r"://[^/@\s]+:[^/@\s]+@", value), f"{name}: {key} embeds credentials"
            if key.endswith("_FILE"):
                assert value.startswith(("/run/secrets/", "/run/aegis-keys/")), f"{name}: {key}={value}"


def test_every_secret_is_declared_on_the_secrets_tmpfs_and_used() -> None:
    doc = _compose()
    declared = doc["secrets"]
    used = {sec for s in doc["services"].values() for sec in s.get("secrets", [])}
    assert used == set(declared)
    for name, spec in declared.items():
        assert spec["file"].startswith("${AEGIS_SECRETS_RUN:-/run/aegis-secrets}/"), name


def test_the_broker_alone_holds_the_master_key() -> None:
    services = _services()
    holders = [n for n, s in services.items() if "AEGIS_MASTER_KEY_FILE" in _env(s)]
    assert holders == ["broker"]
    key_dir_mounts = [n for n, s in services.items() for v in s.get("volumes", []) if "/run/aegis-keys" in str(v)]
    assert key_dir_mounts == ["broker"]
    assert services["broker"]["command"] == ["broker", "serve"]


# ---- networks: who can reach whom -------------------------------------------------------------------


def _subnets() -> dict[str, ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return {n: ipaddress.ip_network(v["ipam"]["config"][0]["subnet"]) for n, v in _compose()["networks"].items()}


def _listening_networks() -> dict[str, set[str]]:
    """For each service, the networks on which it accepts connections (from its bind addresses)."""
    services, subnets = _services(), _subnets()

    def nets_of(service: str, address: str) -> set[str]:
        joined = set(_networks(services[service]))
        if address in ("0.0.0.0", "*", ""):  # noqa: S104 - reading a bind address, not binding
            return joined
        ip = ipaddress.ip_address(address)
        return {n for n in joined if ip in subnets[n]} if not ip.is_loopback else set()

    traefik_cfg = yaml.safe_load((DEPLOY / "traefik" / "traefik.yml").read_text(encoding="utf-8"))
    traefik: set[str] = set()
    for ep in traefik_cfg["entryPoints"].values():
        traefik |= nets_of("traefik", ep["address"].rsplit(":", 1)[0])
    pg_conf = (DEPLOY / "postgres" / "postgresql.conf").read_text(encoding="utf-8")
    pg_listen = re.search(r"^listen_addresses\s*=\s*'([^']*)'", pg_conf, re.M)
    assert pg_listen is not None
    metrics = services["cloudflared"]["command"]
    return {
        "cloudflared": nets_of("cloudflared", metrics[metrics.index("--metrics") + 1].rsplit(":", 1)[0]),
        "traefik": traefik,
        "console": nets_of("console", _env(services["console"])["AEGIS_HOST"]),
        "broker": nets_of("broker", _env(services["broker"])["AEGIS_BROKER_HOST"]),
        "postgres": nets_of("postgres", pg_listen.group(1)),
        "backup": set(),
        "migrate": set(),
        "whatsapp-bridge": nets_of("whatsapp-bridge", _env(services["whatsapp-bridge"])["WHATSAPP_BRIDGE_HOST"]),
    }


def _reach() -> dict[str, set[str]]:
    services, listening = _services(), _listening_networks()
    return {a: {b for b in services if b != a and set(_networks(services[a])) & listening[b]} for a in services}


def test_three_networks_and_only_the_frontend_has_a_route_out() -> None:
    nets = _compose()["networks"]
    assert set(nets) == {"frontend", "backend", "data"}
    assert nets["backend"].get("internal") is True and nets["data"].get("internal") is True
    assert not nets["frontend"].get("internal")
    outside = {n for n, s in _services().items() if "frontend" in _networks(s)}
    # The broker and PostgreSQL never; the bridge for WhatsApp Web (it listens on the backend only).
    assert outside == {"cloudflared", "traefik", "console", "backup", "whatsapp-bridge"}


def test_each_service_joins_only_the_networks_it_needs() -> None:
    joined = {n: set(_networks(s)) for n, s in _services().items()}
    assert joined == {
        "cloudflared": {"frontend"},
        "traefik": {"frontend", "backend"},
        "console": {"frontend", "backend", "data"},
        "broker": {"backend", "data"},
        "postgres": {"data"},
        "backup": {"frontend"},
        "migrate": {"data"},
        "whatsapp-bridge": {"frontend", "backend"},
    }


def test_which_service_can_reach_which() -> None:
    assert _reach() == {
        "cloudflared": {"traefik"},  # the tunnel reaches Traefik's tunnel entry point, nothing else
        "traefik": {"console", "broker", "whatsapp-bridge"},
        "console": {"traefik", "broker", "postgres", "whatsapp-bridge"},
        "broker": {"traefik", "console", "postgres", "whatsapp-bridge"},
        "postgres": set(),
        "backup": {"traefik"},
        "migrate": {"postgres"},
        "whatsapp-bridge": {"traefik", "console", "broker"},
    }


def test_the_tunnel_entry_point_leads_to_the_console_only() -> None:
    static = yaml.safe_load((DEPLOY / "traefik" / "traefik.yml").read_text(encoding="utf-8"))
    dynamic = yaml.safe_load((DEPLOY / "traefik" / "dynamic.yml").read_text(encoding="utf-8"))
    tunnel_ip = ipaddress.ip_address(static["entryPoints"]["tunnel"]["address"].rsplit(":", 1)[0])
    assert tunnel_ip in _subnets()["frontend"]
    assert _networks(_services()["traefik"])["frontend"]["ipv4_address"] == str(tunnel_ip)
    routers = dynamic["http"]["routers"]
    assert {n for n, r in routers.items() if "tunnel" in r["entryPoints"]} == {"console"}
    assert routers["broker"]["entryPoints"] == ["internal"]


def test_the_console_trusts_forwarded_headers_from_traefik_alone() -> None:
    import json

    services = _services()
    proxies = json.loads(_env(services["console"])["AEGIS_TRUSTED_PROXIES"])
    assert proxies == [_networks(services["traefik"])["backend"]["ipv4_address"]]
    assert "/" not in proxies[0]


# ---- TLS 1.3 everywhere ------------------------------------------------------------------------------


def test_traefik_speaks_tls13_only_and_verifies_the_services_with_the_internal_ca() -> None:
    dynamic = yaml.safe_load((DEPLOY / "traefik" / "dynamic.yml").read_text(encoding="utf-8"))
    assert dynamic["tls"]["options"]["default"]["minVersion"] == "VersionTLS13"
    assert set(dynamic["http"]["services"]) == {"console", "broker", "whatsapp-bridge"}
    for svc in dynamic["http"]["services"].values():
        assert all(s["url"].startswith("https://") for s in svc["loadBalancer"]["servers"])
        assert svc["loadBalancer"]["serversTransport"] == "internal-ca"
    assert dynamic["http"]["serversTransports"]["internal-ca"]["rootCAs"] == ["/run/secrets/internal_ca"]
    assert "insecureSkipVerify" not in str(dynamic)
    static = yaml.safe_load((DEPLOY / "traefik" / "traefik.yml").read_text(encoding="utf-8"))
    assert all("tls" in ep.get("http", {}) for n, ep in static["entryPoints"].items() if n != "ping")


def test_the_app_services_serve_https_and_call_the_broker_over_https() -> None:
    for name in ("console", "broker"):
        env = _env(_services()[name])
        assert env["AEGIS_TLS_CERT_FILE"].startswith("/run/secrets/") and env["AEGIS_TLS_KEY_FILE"], name
        assert env["AEGIS_BROKER_URL"].startswith("https://"), name
        assert env["AEGIS_BROKER_CA_FILE"] == "/run/secrets/internal_ca", name
        assert env["PGSSLMODE"] == "verify-full" and env["PGSSLROOTCERT"] == "/run/secrets/internal_ca", name


def test_postgresql_requires_tls13_and_a_scram_password() -> None:
    conf = (DEPLOY / "postgres" / "postgresql.conf").read_text(encoding="utf-8")
    assert re.search(r"^ssl = on$", conf, re.M)
    assert re.search(r"^ssl_min_protocol_version = 'TLSv1.3'$", conf, re.M)
    hba = [
        line.split()
        for line in (DEPLOY / "postgres" / "pg_hba.conf").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    network = [r for r in hba if r[0] != "local"]
    assert network == [
        ["hostssl", "all", "postgres", "all", "reject"],  # the bootstrap superuser: its own socket only
        ["hostssl", "all", "all", "all", "scram-sha-256"],
        ["hostnossl", "all", "all", "all", "reject"],
    ]


# ---- database roles ---------------------------------------------------------------------------------


def test_the_app_connects_as_a_row_only_role_and_only_the_migrate_service_holds_the_owner() -> None:
    services = _services()
    with_owner = {n for n, s in services.items() if "migration_database_url" in s.get("secrets", [])}
    assert with_owner == {"migrate"}
    assert services["migrate"]["command"] == ["db", "upgrade"] and services["migrate"]["restart"] == "no"
    for app in ("broker", "console"):
        assert "database_url" in services[app]["secrets"]
        assert services[app]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    pg = services["postgres"]
    assert _env(pg)["POSTGRES_USER"] == "postgres"
    assert {"postgres_owner_password", "postgres_app_password"} <= set(pg["secrets"])
    template = yaml.safe_load((DEPLOY / "secrets.template.yaml").read_text(encoding="utf-8"))
    assert template["database_url"] == "" and "aegis_app:" in _template_comment("database_url")
    assert "aegis_owner:" in _template_comment("migration_database_url")


def test_the_init_script_makes_two_roles_neither_a_superuser_and_enables_pgcrypto() -> None:
    sql = (DEPLOY / "postgres" / "initdb" / "10-aegis.sql").read_text(encoding="utf-8")
    for role in ("aegis_owner", "aegis_app"):
        create = re.search(rf"^CREATE ROLE {role} (.*);$", sql, re.M)
        assert create is not None, role
        assert {"NOSUPERUSER", "NOCREATEROLE", "NOBYPASSRLS"} <= set(create.group(1).split())
    assert re.search(r"^ALTER DATABASE :\"DBNAME\" OWNER TO aegis_owner;$", sql, re.M)
    assert "CREATE EXTENSION IF NOT EXISTS pgcrypto;" in sql
    assert "GRANT" not in "\n".join(line for line in sql.splitlines() if "aegis_app" in line and "ALL" in line)
    assert "`cat :secrets_dir/postgres_app_password`" in sql  # from the Docker secret, never argv


def _template_comment(name: str) -> str:
    for line in (DEPLOY / "secrets.template.yaml").read_text(encoding="utf-8").splitlines():
        if line.startswith(f"{name}:"):
            return line
    raise AssertionError(name)


# ---- the WhatsApp bridge ----------------------------------------------------------------------------


def test_the_whatsapp_bridge_is_a_hardened_node_service_that_checks_tokens_over_tls() -> None:
    services = _services()
    bridge = services["whatsapp-bridge"]
    dockerfile = (DEPLOY / "whatsapp-bridge.Dockerfile").read_text(encoding="utf-8")
    base = re.search(r"^FROM (\S+)", dockerfile, re.M)
    assert base is not None and DIGEST.match(base.group(1)) and "/node:" in base.group(1)
    assert re.search(r"^USER 10003:10003$", dockerfile, re.M) and bridge["user"] == "10003:10003"
    assert "npm ci --omit=dev --ignore-scripts" in dockerfile  # the lock file, no install scripts
    assert "whatsapp-bridge/package-lock.json" in dockerfile
    env = _env(bridge)
    assert env["AEGIS_BROKER_JWKS_URL"].startswith("https://broker.aegis.internal:8443/")
    assert env["AEGIS_BROKER_ISSUER"] == _env(services["broker"])["AEGIS_BROKER_URL"]  # the broker's iss
    assert env["NODE_EXTRA_CA_CERTS"] == "/run/secrets/internal_ca"
    assert bridge["secrets"] == ["internal_ca", "whatsapp_bridge_tls_cert", "whatsapp_bridge_tls_key"]
    assert env["WHATSAPP_BRIDGE_HOST"] == _networks(bridge)["backend"]["ipv4_address"]
    assert bridge["volumes"] == ["whatsappdata:/var/lib/whatsapp-bridge"]
    assert env["WHATSAPP_BRIDGE_DATA_DIR"] == "/var/lib/whatsapp-bridge"
    # The console reaches it through Traefik over TLS, by a name on Traefik's certificate.
    assert _env(services["console"])["WHATSAPP_BRIDGE_URL"] == "https://whatsapp-bridge.aegis.internal:8443"
    assert "whatsapp-bridge.aegis.internal" in _networks(services["traefik"])["backend"]["aliases"]
    assert "whatsapp-bridge.aegis.internal" in (DEPLOY / "make-ca.sh").read_text(encoding="utf-8")
    dynamic = yaml.safe_load((DEPLOY / "traefik" / "dynamic.yml").read_text(encoding="utf-8"))
    assert dynamic["http"]["routers"]["whatsapp-bridge"]["entryPoints"] == ["internal"]


def test_the_whatsapp_bridge_serves_tls13_with_its_own_certificate_from_the_internal_ca() -> None:
    services = _services()
    bridge = services["whatsapp-bridge"]
    env = _env(bridge)
    # Its certificate and key are Docker secrets, files from deploy/make-ca.sh: never values in env.
    assert env["WHATSAPP_BRIDGE_TLS_CERT_FILE"] == "/run/secrets/whatsapp_bridge_tls_cert"
    assert env["WHATSAPP_BRIDGE_TLS_KEY_FILE"] == "/run/secrets/whatsapp_bridge_tls_key"
    assert env["AEGIS_MODE"] == "production"  # the bridge refuses to start without them
    secrets = _compose()["secrets"]
    assert secrets["whatsapp_bridge_tls_cert"]["file"].endswith("/tls/whatsapp-bridge.crt")
    assert secrets["whatsapp_bridge_tls_key"]["file"].endswith("/tls/whatsapp-bridge.key")
    make_ca = (DEPLOY / "make-ca.sh").read_text(encoding="utf-8")
    assert "whatsapp-bridge:whatsapp-bridge.svc.aegis.internal" in make_ca
    assert "whatsapp-bridge.svc.aegis.internal" in _networks(bridge)["backend"]["aliases"]
    # Traefik's last hop is HTTPS to that name, verified with the internal CA.
    dynamic = yaml.safe_load((DEPLOY / "traefik" / "dynamic.yml").read_text(encoding="utf-8"))
    lb = dynamic["http"]["services"]["whatsapp-bridge"]["loadBalancer"]
    assert lb["servers"] == [{"url": f"https://whatsapp-bridge.svc.aegis.internal:{env['WHATSAPP_BRIDGE_PORT']}"}]
    assert lb["serversTransport"] == "internal-ca"
    # The console and its MCP servers call it over HTTPS through Traefik; the health check is HTTPS too.
    assert _env(services["console"])["WHATSAPP_BRIDGE_URL"].startswith("https://")
    assert "https://whatsapp-bridge.svc.aegis.internal:3001/" in " ".join(bridge["healthcheck"]["test"])
    assert not any("http://" in str(v) for v in env.values())


def test_the_console_tells_each_server_where_its_sidecar_container_listens() -> None:
    from integrations import Catalog

    console_env = _compose()["services"]["console"]["environment"]
    names = [n for m in Catalog.load() if m.sidecar is not None for n in m.sidecar.deployed_env]
    assert names
    for name in names:
        assert str(console_env.get(name, "")).startswith("https://"), name  # TLS on the last hop too
