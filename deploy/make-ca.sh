#!/usr/bin/env bash
# The internal CA and one certificate per service, for TLS 1.3 between Aegis's containers. No public
# CA is involved: the names (*.aegis.internal) exist only on the Compose networks.
#
#   deploy/make-ca.sh OUT_DIR            create the CA if OUT_DIR has none, then (re)issue every
#                                        service certificate that is missing or expires within 30 days
#   deploy/make-ca.sh OUT_DIR --renew    reissue every service certificate now (rotate-secrets.sh)
#
# OUT_DIR should be the secrets tmpfs (deploy/secrets.sh puts the CA key there from SOPS). Keys are
# ECDSA P-256, mode 0600; the CA lasts 5 years, service certificates 180 days.
# AEGIS_TLS_SERVICES overrides the list: "name:dns1,dns2,IP:1.2.3.4 name2:...".
set -euo pipefail
out="${1:?usage: make-ca.sh OUT_DIR [--renew]}"
renew="${2:-}"
services="${AEGIS_TLS_SERVICES:-traefik:aegis.internal,broker.aegis.internal,whatsapp-bridge.aegis.internal console:console.svc.aegis.internal broker:broker.svc.aegis.internal postgres:postgres.svc.aegis.internal whatsapp-bridge:whatsapp-bridge.svc.aegis.internal}"
umask 077
mkdir -p "$out"
cd "$out"

if [ ! -s ca.key ]; then
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 1826 -subj "/O=Aegis/CN=Aegis internal CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
    echo "created the internal CA ($out/ca.crt)"
fi

issue() {
    local name="$1" sans="$2" san_ext="" entry
    IFS=, read -ra entries <<< "$sans"
    for entry in "${entries[@]}"; do
        case "$entry" in
            IP:*) san_ext+="${san_ext:+,}$entry" ;;
            *) san_ext+="${san_ext:+,}DNS:$entry" ;;
        esac
    done
    openssl ecparam -name prime256v1 -genkey -noout -out "$name.key.new"
    openssl req -new -key "$name.key.new" -subj "/O=Aegis/CN=${entries[0]}" -out "$name.csr"
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' \
        "$san_ext" > "$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 180 \
        -extfile "$name.ext" -out "$name.crt.new" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
    mv "$name.key.new" "$name.key"
    mv "$name.crt.new" "$name.crt"
    echo "issued $name.crt for $sans"
}

for spec in $services; do
    name="${spec%%:*}"
    sans="${spec#*:}"
    if [ "$renew" = "--renew" ] || [ ! -s "$name.crt" ] || ! openssl x509 -checkend 2592000 -noout -in "$name.crt" >/dev/null; then
        issue "$name" "$sans"
    fi
done
chmod 600 ./*.key
chmod 644 ca.crt ./*.crt
