"""AES-256-GCM field encryption with a versioned format and authenticated context.

Ciphertext layout (format 1)::

    0x01 | len(kid) (1 byte) | kid (ascii) | nonce (12 bytes) | ciphertext || tag (16 bytes)

The associated data binds the format, table, column, row id, owner and key id, so a ciphertext
copied to another row, column or owner, or given another key id, does not decrypt.
"""

from __future__ import annotations

import os
from typing import NamedTuple, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.crypto.errors import DecryptionFailed

FORMAT_V1 = 1
_SEP = "\x1f"
_NONCE = 12
_TAG = 16


class FieldContext(NamedTuple):
    """The immutable identity of one encrypted value (a tuple: cheap to build on hot paths)."""

    table: str
    column: str
    row_id: str
    owner: str = ""

    def aad(self, kid: str) -> bytes:
        return _aad(self, kid)


def _aad(ctx: FieldContext, kid: str) -> bytes:
    """format, table, column, row id, owner and key id, separated by U+001F (refused inside values)."""
    text = f"aegis-field\x1f1\x1f{ctx[0]}\x1f{ctx[1]}\x1f{ctx[2]}\x1f{ctx[3]}\x1f{kid}"
    if text.count(_SEP) != 6:
        raise ValueError("context values may not contain the unit separator")
    return text.encode()


class KeyLookup(Protocol):
    def encryption_entry(self, domain: str) -> tuple[str, AESGCM, bytes]:
        """(kid, cipher, format-1 header naming the kid) of the domain's active key."""
        ...

    def decryption_entry(self, kid: bytes) -> tuple[str, AESGCM, str]:
        """(kid, cipher, domain) for a key id as it appears in a header."""
        ...


def header_for(kid: str) -> bytes:
    kid_b = kid.encode("ascii")
    if not 0 < len(kid_b) < 256:
        raise ValueError("key id must be 1-255 ascii bytes")
    return bytes((FORMAT_V1, len(kid_b))) + kid_b


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


class FieldCipher:
    """Encrypts and decrypts single field values with keys from a keyring."""

    def __init__(self, keys: KeyLookup) -> None:
        self._keys = keys
        # Hot path: a keyring may expose its header-kid -> entry map; misses fall back to the method.
        self._dec: dict[bytes, tuple[str, AESGCM, str]] = getattr(keys, "decryption_entries", {})

    def encrypt(self, domain: str, ctx: FieldContext, plaintext: bytes) -> bytes:
        kid, aead, header = self._keys.encryption_entry(domain)
        nonce = os.urandom(_NONCE)
        return header + nonce + aead.encrypt(nonce, plaintext, _aad(ctx, kid))

    def decrypt(self, domain: str, ctx: FieldContext, blob: bytes) -> bytes:
        if len(blob) < 2 + _NONCE + _TAG or blob[0] != FORMAT_V1 or blob[1] == 0:
            raise DecryptionFailed("unknown or truncated ciphertext")
        end = 2 + blob[1]
        if len(blob) < end + _NONCE + _TAG:
            raise DecryptionFailed("ciphertext is truncated")
        try:
            kid, aead, key_domain = self._dec[blob[2:end]]
        except KeyError:
            kid, aead, key_domain = self._keys.decryption_entry(blob[2:end])
        if key_domain != domain:
            raise DecryptionFailed(f"ciphertext names a key of another domain (expected {domain})")
        # _aad inlined (the hot path of every encrypted read), without its separator check: every
        # sealed value's AAD has exactly six separators, so a context holding more never authenticates.
        aad = f"aegis-field\x1f1\x1f{ctx[0]}\x1f{ctx[1]}\x1f{ctx[2]}\x1f{ctx[3]}\x1f{kid}".encode()
        try:
            return aead.decrypt(blob[end : end + _NONCE], blob[end + _NONCE :], aad)
        except InvalidTag:
            raise DecryptionFailed(f"ciphertext does not authenticate for {ctx.table}.{ctx.column}") from None

    def encrypt_text(self, domain: str, ctx: FieldContext, text: str) -> bytes:
        return self.encrypt(domain, ctx, text.encode("utf-8"))

    def decrypt_text(self, domain: str, ctx: FieldContext, blob: bytes) -> str:
        return self.decrypt(domain, ctx, blob).decode("utf-8")


def seal(aead: AESGCM, kid: str, aad: bytes, plaintext: bytes, *, nonce: bytes | None = None) -> bytes:
    """Encrypt into the format-1 layout. ``nonce`` is for known-answer tests only; normally random."""
    nonce = os.urandom(_NONCE) if nonce is None else nonce
    return b"".join((header_for(kid), nonce, aead.encrypt(nonce, plaintext, aad)))


def open_sealed(aead: AESGCM, kid: str, aad: bytes, blob: bytes) -> bytes:
    if kid_of(blob) != kid:
        raise DecryptionFailed("ciphertext names another key")
    start = 2 + len(kid)
    nonce = blob[start : start + _NONCE]
    try:
        return aead.decrypt(nonce, blob[start + _NONCE :], aad)
    except InvalidTag:
        raise DecryptionFailed("ciphertext does not authenticate") from None
