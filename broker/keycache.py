"""API keys this broker has verified: what never changes about a key, kept so that a mint does not
read the key and its principal in a transaction of its own.

Only immutable facts are trusted (the key's stored hash, its principal's id and name): a presented
key is still checked against the hash, and everything that can change (revocation, lock, expiry,
the principal's state and ceilings, the key's own lists) is read fresh, with the key's row locked,
in the transaction or statement that issues the token (broker.mint_fast, broker.mint_pg). The
lists as last verified are kept too, but only as what that read must find unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.models import ApiKeyRow, PrincipalRow


@dataclass(frozen=True, slots=True)
class KeyLimits:
    """The four lists that bound what a key mints, as stored (JSON text, None for no list)."""

    key_scopes: str | None = None
    key_resources: str | None = None
    principal_scopes: str | None = None
    principal_resources: str | None = None

    @classmethod
    def of(cls, key: ApiKeyRow, principal: PrincipalRow) -> KeyLimits:
        return cls(key.allowed_scopes, key.allowed_resources, principal.max_scopes, principal.max_resources)


@dataclass(frozen=True, slots=True)
class VerifiedKey:
    key_hash: str
    principal_id: str
    principal_name: str
    limits: KeyLimits = field(default_factory=KeyLimits)


@dataclass
class VerifiedKeys:
    max_entries: int = 10_000
    _keys: dict[str, VerifiedKey] = field(default_factory=dict)

    def remember(
        self, key_id: str, key_hash: str, principal_id: str, principal_name: str, limits: KeyLimits | None = None
    ) -> None:
        if len(self._keys) >= self.max_entries and key_id not in self._keys:
            self._keys.clear()  # bounded: a flood of keys costs a refill, never memory
        self._keys[key_id] = VerifiedKey(key_hash, principal_id, principal_name, limits or KeyLimits())

    def get(self, key_id: str) -> VerifiedKey | None:
        return self._keys.get(key_id)

    def forget(self, key_id: str) -> None:
        self._keys.pop(key_id, None)
