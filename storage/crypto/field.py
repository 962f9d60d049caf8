"""AES-256-GCM field encryption with a versioned format and authenticated context.

Ciphertext layout (format 1)::

    0x01 | len(kid) (1 byte) | kid (ascii) | nonce (12 bytes) | ciphertext || tag (16 bytes)

The associated data binds the format, table, column, row id, owner and key id, so a ciphertext
copied to another row, column or owner, or given another key id, does not decrypt.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.crypto.errors import DecryptionFailed

FORMAT_V1 = 1
_SEP = "\x1f"
_NONCE = 12
_TAG = 16


@dataclass(frozen=True, slots=True)
class FieldContext:
    """The immutable identity of one encrypted value."""

    table: str
    column: str
    row_id: str
    owner: str = ""

    def aad(self, kid: str) -> bytes:
        parts = (self.table, self.column, self.row_id, self.owner, kid)
        if any(_SEP in p for p in parts):
            raise ValueError("context values may not contain the unit separator")
        return _SEP.join(("aegis-field", "1", *parts)).encode()


class KeyLookup(Protocol):
    def encryption_key(self, domain: str) -> tuple[str, AESGCM]: ...

    def decryption_key(self, kid: str) -> AESGCM: ...


def kid_of(blob: bytes) -> str:
    """The key id named in a ciphertext header (not yet authenticated)."""
    if len(blob) < 2 or blob[0] != FORMAT_V1:
        raise DecryptionFailed("unknown ciphertext format")
    n = blob[1]
    if n == 0 or len(blob) < 2 + n + _NONCE + _TAG:
        raise DecryptionFailed("ciphertext is truncated")
    try:
        return blob[2 : 2 + n].decode("ascii")
    except UnicodeDecodeError:
        raise DecryptionFailed("ciphertext header is malformed") from None


def domain_of(kid: str) -> str:
    return kid.split(".", 1)[0]


class FieldCipher:
    """Encrypts and decrypts single field values with keys from a keyring."""

    def __init__(self, keys: KeyLookup) -> None:
        self._keys = keys

    def encrypt(self, domain: str, ctx: FieldContext, plaintext: bytes) -> bytes:
        kid, aead = self._keys.encryption_key(domain)
        return seal(aead, kid, ctx.aad(kid), plaintext)

    def decrypt(self, domain: str, ctx: FieldContext, blob: bytes) -> bytes:
        kid = kid_of(blob)
        if domain_of(kid) != domain:
            raise DecryptionFailed(f"ciphertext names a key of another domain (expected {domain})")
        try:
            return open_sealed(self._keys.decryption_key(kid), kid, ctx.aad(kid), blob)
        except DecryptionFailed:
            raise DecryptionFailed(f"ciphertext does not authenticate for {ctx.table}.{ctx.column}") from None

    def encrypt_text(self, domain: str, ctx: FieldContext, text: str) -> bytes:
        return self.encrypt(domain, ctx, text.encode("utf-8"))

    def decrypt_text(self, domain: str, ctx: FieldContext, blob: bytes) -> str:
        return self.decrypt(domain, ctx, blob).decode("utf-8")


def seal(aead: AESGCM, kid: str, aad: bytes, plaintext: bytes, *, nonce: bytes | None = None) -> bytes:
    """Encrypt into the format-1 layout. ``nonce`` is for known-answer tests only; normally random."""
    kid_b = kid.encode("ascii")
    if not 0 < len(kid_b) < 256:
        raise ValueError("key id must be 1-255 ascii bytes")
    nonce = os.urandom(_NONCE) if nonce is None else nonce
    return b"".join((bytes((FORMAT_V1, len(kid_b))), kid_b, nonce, aead.encrypt(nonce, plaintext, aad)))


def open_sealed(aead: AESGCM, kid: str, aad: bytes, blob: bytes) -> bytes:
    if kid_of(blob) != kid:
        raise DecryptionFailed("ciphertext names another key")
    start = 2 + len(kid)
    nonce = blob[start : start + _NONCE]
    try:
        return aead.decrypt(nonce, blob[start + _NONCE :], aad)
    except InvalidTag:
        raise DecryptionFailed("ciphertext does not authenticate") from None
