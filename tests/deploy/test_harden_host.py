"""deploy/harden-host.sh, tested in dry-run (and its files-only mode into a temporary root): what it
would run and write, that a dry run changes nothing, and that a second run finds nothing to change."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "harden-host.sh"


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AEGIS_HOST_ROOT": str(root)}
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def test_a_dry_run_lists_every_change_and_changes_nothing(tmp_path: Path) -> None:
    out = _run(tmp_path, "--dry-run", "--ssh-port", "2299")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    for expected in (
        "would run: ufw default deny incoming",
        "would run: ufw default allow outgoing",
        "would run: ufw limit 2299/tcp comment SSH (keys only)",
        "would run: ufw --force enable",
        "would write: /etc/ssh/sshd_config.d/10-aegis.conf",
        "would write: /etc/docker/daemon.json",
        "would write: /etc/apt/apt.conf.d/20auto-upgrades",
    ):
        assert expected in lines, expected
    # The new SSH port is open in the firewall before sshd is reloaded onto it.
    assert lines.index("would run: ufw limit 2299/tcp comment SSH (keys only)") < lines.index(
        "would run: systemctl reload ssh"
    )
    assert not any(p.is_file() for p in tmp_path.rglob("*")), "a dry run wrote a file"
    assert "nothing was changed" in out.stdout


def test_the_files_say_keys_only_and_harden_docker_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    first = _run(tmp_path, "--files-only", "--ssh-port", "2299")
    assert first.returncode == 0, first.stderr
    sshd = (tmp_path / "etc/ssh/sshd_config.d/10-aegis.conf").read_text()
    for line in ("Port 2299", "PasswordAuthentication no", "PermitRootLogin no", "AuthenticationMethods publickey"):
        assert line in sshd.splitlines()
    daemon = json.loads((tmp_path / "etc/docker/daemon.json").read_text())
    assert daemon["no-new-privileges"] is True and daemon["icc"] is False and daemon["ip"] == "127.0.0.1"
    upgrades = (tmp_path / "etc/apt/apt.conf.d/20auto-upgrades").read_text()
    assert 'APT::Periodic::Unattended-Upgrade "1";' in upgrades

    again = _run(tmp_path, "--dry-run", "--ssh-port", "2299")
    assert again.returncode == 0
    assert "would write" not in again.stdout and "(0 files would change)" in again.stdout
    assert "would run: systemctl restart docker" not in again.stdout  # nothing changed, no restart

    moved = _run(tmp_path, "--dry-run", "--ssh-port", "2300")
    assert "would write: /etc/ssh/sshd_config.d/10-aegis.conf" in moved.stdout
    assert "-Port 2299" in moved.stdout and "+Port 2300" in moved.stdout


@pytest.mark.parametrize("port", ["22", "80", "http", "70000"])
def test_the_standard_or_a_bad_ssh_port_is_refused(tmp_path: Path, port: str) -> None:
    out = _run(tmp_path, "--dry-run", "--ssh-port", port)
    assert out.returncode == 2 and "non-standard" in out.stderr
