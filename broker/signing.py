"""The broker's signing key set: what it signs with, what it publishes, and when a key stops counting.

A :class:`SigningSet` is an immutable snapshot. Retiring keys carry the time they stop being trusted;
:meth:`SigningSet.at` drops them from the JWKS and from the broker's own verifier the moment that
time passes, without waiting for a reload. Rotation builds the next snapshot before its transaction
commits, so a key set that cannot be loaded is never committed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from broker.tokens import MAX_JWKS_KEYS, SigningKey
from broker.verify import KeySet
from storage.crypto.field import FieldCipher
from storage.models import SigningKeyRow
from storage.models.broker import ENCRYPTED

PUBLISHED_STATES = ("active", "retiring")
# Published keys at most: the active one and the keys still retiring. Far below the verifiers' own
# JWKS limit, so no state the broker reaches can be one it (or a verifier) refuses to load.
MAX_PUBLISHED = 10
assert MAX_PUBLISHED < MAX_JWKS_KEYS


class SigningSetError(ValueError):
    """The stored signing keys do not form a usable set (no active key, too many keys)."""


@dataclass(frozen=True)
class SigningSet:
    signing: dict[str, SigningKey] = field(default_factory=dict)
    active_kid: str | None = None
    retire_at: dict[str, float] = field(default_factory=dict)
    jwks_doc: dict[str, object] = field(default_factory=lambda: {"keys": []})
    keyset: KeySet = field(default_factory=KeySet)

    @classmethod
    def build(cls, keys: Iterable[tuple[SigningKey, dict[str, object], float | None]], active: str) -> SigningSet:
        """From ``(key, public_jwk, retire_at)``; ``retire_at`` is None for the active key."""
        signing: dict[str, SigningKey] = {}
        retire: dict[str, float] = {}
        published: list[dict[str, object]] = []
        for key, jwk, until in keys:
            signing[key.kid] = key
            published.append(jwk)
            if until is not None:
                retire[key.kid] = until
        if active not in signing or active in retire:
            raise SigningSetError("no active signing key")
        if len(published) > MAX_PUBLISHED:
            raise SigningSetError(f"more than {MAX_PUBLISHED} published signing keys")
        doc: dict[str, object] = {"keys": published}
        return cls(signing, active, retire, doc, KeySet.from_jwks(doc))

    def at(self, now: float) -> SigningSet:
        """This set without the keys whose retirement time has passed."""
        gone = {kid for kid, until in self.retire_at.items() if until <= now}
        return self if not gone else self.without(gone)

    def without(self, kids: set[str]) -> SigningSet:
        keep = [k for k in self.signing.values() if k.kid not in kids]
        jwks = [j for j in self._jwks() if j.get("kid") not in kids]
        doc: dict[str, object] = {"keys": jwks}
        return SigningSet(
            {k.kid: k for k in keep},
            None if self.active_kid in kids else self.active_kid,
            {kid: t for kid, t in self.retire_at.items() if kid not in kids},
            doc,
            KeySet.from_jwks(doc),
        )

    def _jwks(self) -> list[dict[str, object]]:
        keys = self.jwks_doc["keys"]
        assert isinstance(keys, list)
        return keys

    def next_retirement(self) -> float | None:
        return min(self.retire_at.values(), default=None)


def load_rows(cipher: FieldCipher, rows: Iterable[SigningKeyRow], now: datetime) -> SigningSet:
    """The set the given rows describe at ``now``. Raises SigningSetError if it is not usable."""
    spec = ENCRYPTED[0]
    live = [r for r in rows if r.state == "active"]
    retiring = [r for r in rows if r.state == "retiring" and r.unpublish_after is not None and r.unpublish_after > now]
    # A database written before rotation was bounded may hold more: keep the newest, so it still starts.
    retiring.sort(key=lambda r: r.created_at, reverse=True)
    entries: list[tuple[SigningKey, dict[str, object], float | None]] = []
    active: str | None = None
    for row in live + retiring[: MAX_PUBLISHED - 1]:
        pem = cipher.decrypt(spec.domain, spec.context({"kid": row.kid}), row.private_key)
        key = SigningKey.from_pem(row.kid, pem, int(row.created_at.timestamp()))
        until = None if row.state == "active" else row.unpublish_after.timestamp()  # type: ignore[union-attr]
        entries.append((key, json.loads(row.public_jwk), until))
        if row.state == "active":
            if active is not None:
                raise SigningSetError("more than one active signing key")
            active = row.kid
    if active is None:
        raise SigningSetError("no active signing key")
    return SigningSet.build(entries, active)
