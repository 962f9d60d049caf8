"""Per-domain data keys: one domain's key cannot read another domain's data.

A :class:`Keyring` is the in-memory set of data keys one process was granted. The broker builds it
from the key-encryption key; other processes get only the domains they need.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.crypto.errors import DecryptionFailed, KeyUnavailable
from storage.crypto.field import header_for

DOMAINS: Final = frozenset(
    {
        "audit",
        "auth",
        "broker",
        "calendar",
        "chain",
        "conversation",
        "coursework",
        "finance",
        "health",
        "mail",
        "memory",
        "messages",
        "social",
        "vault",
    }
)
PURPOSES: Final = frozenset({"enc", "idx"})
_KID = re.compile(r"^([a-z]+)\.(enc|idx)\.v([0-9]{1,6})$")

ACTIVE = "active"
DECRYPT_ONLY = "decrypt_only"
RETIRED = "retired"


def make_kid(domain: str, purpose: str, version: int) -> str:
    if domain not in DOMAINS:
        raise ValueError(f"unknown key domain {domain!r}")
    if purpose not in PURPOSES:
        raise ValueError(f"unknown key purpose {purpose!r}")
    return f"{domain}.{purpose}.v{version}"


def parse_kid(kid: str) -> tuple[str, str, int]:
    m = _KID.match(kid)
    if not m:
        raise KeyUnavailable(f"malformed key id {kid!r}")
    return m.group(1), m.group(2), int(m.group(3))


@dataclass(slots=True)
class DataKey:
    kid: str
    material: bytes = field(repr=False)
    state: str

    @property
    def domain(self) -> str:
        return parse_kid(self.kid)[0]

    @property
    def purpose(self) -> str:
        return parse_kid(self.kid)[1]


class Keyring:
    """Resolves key ids to keys. Retired keys and keys of ungranted domains are refused."""

    def __init__(self, keys: list[DataKey]) -> None:
        self._aead: dict[str, AESGCM] = {}
        self._enc: dict[str, tuple[str, AESGCM, bytes]] = {}
        self._dec: dict[bytes, tuple[str, AESGCM, str]] = {}
        self._active: dict[tuple[str, str], str] = {}
        self._material: dict[str, bytes] = {}
        self._states: dict[str, str] = {}
        for key in keys:
            self._states[key.kid] = key.state
            if key.state == RETIRED:
                continue
            self._material[key.kid] = key.material
            if key.purpose == "enc":
                aead = self._aead[key.kid] = AESGCM(key.material)
                self._dec[key.kid.encode("ascii")] = (key.kid, aead, key.domain)
                if key.state == ACTIVE:
                    self._enc[key.domain] = (key.kid, aead, header_for(key.kid))
            if key.state == ACTIVE:
                self._active[(key.domain, key.purpose)] = key.kid

    @property
    def domains(self) -> frozenset[str]:
        return frozenset(parse_kid(k)[0] for k in self._states)

    def restricted_to(self, domains: set[str]) -> Keyring:
        """A keyring holding only the given domains' keys (what another process is granted)."""
        return Keyring(
            [
                DataKey(kid, self._material[kid], state)
                for kid, state in self._states.items()
                if parse_kid(kid)[0] in domains and kid in self._material
            ]
        )

    def active_kid(self, domain: str, purpose: str = "enc") -> str:
        try:
            return self._active[(domain, purpose)]
        except KeyError:
            raise KeyUnavailable(f"no active {purpose} key for domain {domain!r} in this keyring") from None

    def encryption_key(self, domain: str) -> tuple[str, AESGCM]:
        kid = self.active_kid(domain)
        return kid, self._aead[kid]

    @property
    def decryption_entries(self) -> dict[bytes, tuple[str, AESGCM, str]]:
        """The header-kid -> (kid, cipher, domain) map of the usable keys (read by FieldCipher)."""
        return self._dec

    def encryption_entry(self, domain: str) -> tuple[str, AESGCM, bytes]:
        try:
            return self._enc[domain]
        except KeyError:
            raise KeyUnavailable(f"no active enc key for domain {domain!r} in this keyring") from None

    def decryption_entry(self, kid: bytes) -> tuple[str, AESGCM, str]:
        try:
            return self._dec[kid]
        except KeyError:
            pass
        try:
            name = kid.decode("ascii")
        except UnicodeDecodeError:
            raise DecryptionFailed("ciphertext header is malformed") from None
        self.decryption_key(name)  # raises the precise reason (retired, not granted)
        raise KeyUnavailable(f"key {name} is not available to this process")

    def decryption_key(self, kid: str) -> AESGCM:
        try:
            return self._aead[kid]
        except KeyError:
            state = self._states.get(kid)
            if state == RETIRED:
                raise KeyUnavailable(f"key {kid} is retired") from None
            raise KeyUnavailable(f"key {kid} is not available to this process") from None

    def blind_index(self, domain: str, value: str) -> str:
        """A keyed HMAC for exact-match lookups on an encrypted field (or a hashed audit identifier)."""
        kid = self.active_kid(domain, "idx")
        digest = hmac.new(self._material[kid], value.encode("utf-8"), hashlib.sha256).hexdigest()
        return digest[:40]

    def index_key(self, domain: str) -> bytes:
        """The active keyed-hash key of a domain (e.g. the broker's API-key pepper)."""
        return self._material[self.active_kid(domain, "idx")]

    def export(self, domains: set[str]) -> list[DataKey]:
        """The keys of the given domains, for handing to a process that was granted them."""
        return [
            DataKey(kid, self._material[kid], self._states[kid])
            for kid in self._material
            if parse_kid(kid)[0] in domains
        ]
