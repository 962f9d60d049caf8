"""The master key file and the key-encryption key derived from it."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.crypto.errors import DecryptionFailed, MasterKeyError

_HEADER = "aegis-master-key-v1:"


def _hkdf(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


class KeyEncryptionKey:
    """Wraps and unwraps data keys. Derived from the master key; never stored."""

    def __init__(self, master: bytes) -> None:
        if len(master) != 32:
            raise MasterKeyError("master key must be 32 bytes")
        self.kek_id = "mk-" + hashlib.sha256(_hkdf(master, b"aegis/kek-id/v1")).hexdigest()[:12]
        self._aead = AESGCM(_hkdf(master, b"aegis/kek/v1"))

    def _aad(self, kid: str) -> bytes:
        return f"aegis-dek\x1f{kid}\x1f{self.kek_id}".encode()

    def wrap(self, kid: str, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, key, self._aad(kid))

    def unwrap(self, kid: str, wrapped: bytes) -> bytes:

        try:
            return self._aead.decrypt(wrapped[:12], wrapped[12:], self._aad(kid))
        except (InvalidTag, ValueError):
            raise DecryptionFailed(f"data key {kid} does not unwrap under {self.kek_id}") from None


def generate_master_key_file(path: Path) -> bool:
    """Create a new master key file with mode 0600. Returns False if one already exists."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(_HEADER + secrets.token_hex(32) + "\n")
    return True


def parse_master_key(text: str) -> bytes:
    text = text.strip()
    if not text.startswith(_HEADER):
        raise MasterKeyError("master key file is not in the aegis-master-key-v1 format")
    try:
        key = bytes.fromhex(text[len(_HEADER) :])
    except ValueError:
        raise MasterKeyError("master key file is malformed") from None
    if len(key) != 32:
        raise MasterKeyError("master key must be 32 bytes")
    return key


def load_master_key(path: Path) -> bytes:
    """Read the master key, refusing a file that group or others can access."""
    from aegis.secrets import SecretError, check_private_file

    try:
        check_private_file(path)
    except SecretError as exc:
        raise MasterKeyError(str(exc)) from None
    return parse_master_key(path.read_text(encoding="ascii"))
