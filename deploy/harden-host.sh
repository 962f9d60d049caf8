#!/usr/bin/env bash
# Harden the VPS that runs Aegis, once (safe to run again: it changes only what differs).
#
#   sudo deploy/harden-host.sh --dry-run [--ssh-port 2222] [--ssh-user NAME]   show what would change
#   sudo deploy/harden-host.sh [--ssh-port 2222] [--ssh-user NAME]             apply it
#   deploy/harden-host.sh --files-only                                          write the files, run nothing
#
# - UFW: deny all incoming, allow outgoing (cloudflared dials out), SSH only on the non-standard port
#   (rate-limited). Aegis publishes no port, so nothing else is opened.
# - SSH: that port, keys only (no passwords, no keyboard-interactive, no root login). It refuses to
#   apply this unless --ssh-user has an authorized_keys file, so you cannot lock yourself out; keep
#   your current session open and test a new one before closing it.
# - Unattended security upgrades, with a reboot at 04:00 when one needs it.
# - Docker daemon: no-new-privileges by default, no inter-container traffic on the default bridge,
#   containers survive a daemon restart, bounded local logs, published ports on loopback only.
# - Kernel: no redirects or source routing, reverse-path filtering, SYN cookies, kernel pointers and
#   dmesg hidden from unprivileged users.
# AEGIS_HOST_ROOT prefixes every path written (the tests point it at a temporary folder).
set -euo pipefail
dry=0 files_only=0 ssh_port="${AEGIS_SSH_PORT:-2222}" ssh_user="${AEGIS_SSH_USER:-${SUDO_USER:-}}"
root="${AEGIS_HOST_ROOT:-}"
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) dry=1; shift ;;
        --files-only) files_only=1; shift ;;
        --ssh-port) ssh_port="$2"; shift 2 ;;
        --ssh-user) ssh_user="$2"; shift 2 ;;
        *) echo "harden-host: unknown option $1" >&2; exit 2 ;;
    esac
done
if ! [[ "$ssh_port" =~ ^[0-9]+$ ]] || [ "$ssh_port" -lt 1024 ] || [ "$ssh_port" -gt 65535 ]; then
    echo "harden-host: --ssh-port must be a number from 1024 to 65535 (not 22: a non-standard port)" >&2
    exit 2
fi
changed=()

run() {
    if [ "$dry" = 1 ] || [ "$files_only" = 1 ]; then echo "would run: $*"; else echo "run: $*"; "$@"; fi
}

# put PATH MODE < content: write only when the content differs.
put() {
    local dest="$root$1" mode="$2" tmp
    tmp="$(mktemp)"
    cat > "$tmp"
    if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
        echo "unchanged: $1"
    elif [ "$dry" = 1 ]; then
        echo "would write: $1"
        diff -u "$dest" "$tmp" 2>/dev/null | sed 's/^/    /' || true
        changed+=("$1")
    else
        install -D -m "$mode" "$tmp" "$dest"
        echo "wrote: $1"
        changed+=("$1")
    fi
    rm -f "$tmp"
}

was_changed() { local f; for f in "${changed[@]}"; do [ "$f" = "$1" ] && return 0; done; return 1; }

echo "== packages =="
for pkg in ufw unattended-upgrades; do
    if dpkg -s "$pkg" >/dev/null 2>&1; then echo "installed: $pkg"; else run apt-get install -y -q "$pkg"; fi
done

echo "== firewall (UFW) =="
# The new SSH port is allowed before sshd moves to it and before the firewall is enabled.
run ufw default deny incoming
run ufw default allow outgoing
run ufw limit "$ssh_port/tcp" comment "SSH (keys only)"
run ufw --force enable

echo "== SSH: port $ssh_port, keys only =="
if [ "$dry" = 0 ] && [ "$files_only" = 0 ]; then
    home="$(getent passwd "$ssh_user" | cut -d: -f6 || true)"
    if [ -z "$ssh_user" ] || [ ! -s "$home/.ssh/authorized_keys" ]; then
        echo "harden-host: --ssh-user must name a user with ~/.ssh/authorized_keys (no lock-out)" >&2
        exit 1
    fi
fi
put /etc/ssh/sshd_config.d/10-aegis.conf 0644 <<CONF
# Written by deploy/harden-host.sh
Port $ssh_port
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
PermitEmptyPasswords no
AuthenticationMethods publickey
MaxAuthTries 3
LoginGraceTime 30
X11Forwarding no
AllowAgentForwarding no
AllowTcpForwarding no
CONF
if was_changed /etc/ssh/sshd_config.d/10-aegis.conf; then
    run sshd -t
    run systemctl reload ssh
fi

echo "== unattended upgrades =="
put /etc/apt/apt.conf.d/20auto-upgrades 0644 <<'CONF'
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
CONF
put /etc/apt/apt.conf.d/52aegis-unattended-upgrades 0644 <<'CONF'
// Written by deploy/harden-host.sh
Unattended-Upgrade::Remove-Unused-Dependencies "true";
Unattended-Upgrade::Automatic-Reboot "true";
Unattended-Upgrade::Automatic-Reboot-Time "04:00";
CONF

echo "== Docker daemon =="
# No userns-remap: deploy/secrets.sh gives each secret file to its container's uid, which a remap
# would shift. Every container already runs as non-root with no capabilities.
put /etc/docker/daemon.json 0644 <<'CONF'
{
  "icc": false,
  "ip": "127.0.0.1",
  "live-restore": true,
  "log-driver": "local",
  "log-opts": {"max-size": "10m", "max-file": "5"},
  "no-new-privileges": true,
  "userland-proxy": false
}
CONF
if was_changed /etc/docker/daemon.json; then run systemctl restart docker; fi

echo "== kernel =="
put /etc/sysctl.d/60-aegis.conf 0644 <<'CONF'
# Written by deploy/harden-host.sh
net.ipv4.conf.all.accept_redirects = 0
net.ipv4.conf.default.accept_redirects = 0
net.ipv6.conf.all.accept_redirects = 0
net.ipv4.conf.all.send_redirects = 0
net.ipv4.conf.all.accept_source_route = 0
net.ipv4.conf.all.rp_filter = 1
net.ipv4.tcp_syncookies = 1
kernel.kptr_restrict = 2
kernel.dmesg_restrict = 1
fs.protected_symlinks = 1
fs.protected_hardlinks = 1
CONF
if was_changed /etc/sysctl.d/60-aegis.conf; then run sysctl --system; fi

if [ "$dry" = 1 ]; then
    echo "dry run: nothing was changed (${#changed[@]} files would change)"
else
    echo "done (${#changed[@]} files changed). Open a NEW ssh session on port $ssh_port before closing this one."
fi
