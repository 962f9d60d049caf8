"""Passphrase hashing (argon2id) and the strength policy applied when the admin sets one."""

from __future__ import annotations

import math
import string
from dataclasses import dataclass, field

from argon2 import Parameters, PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MIN_BITS = 50.0

# A small list of passphrases that are long enough to pass the length rule yet guessed first.
COMMON = frozenset(
    {
        "password1234",
        "password12345",
        "passwordpassword",
        "123456789012",
        "1234567890123",
        "qwertyuiopasdf",
        "qwertyuiop123",
        "iloveyou1234",
        "letmein12345",
        "welcome12345",
        "adminadmin123",
        "administrator",
        "correcthorsebatterystaple",
        "trustno1trustno1",
        "changeme1234",
        "aaaaaaaaaaaa",
        "abcdefghijkl",
        "abc123abc123",
        "passw0rdpassw0rd",
        "monkeymonkey",
        "football1234",
        "baseball1234",
        "sunshine1234",
        "princess1234",
        "dragondragon",
        "masterpassword",
        "superman1234",
        "qazwsxedcrfv",
        "1q2w3e4r5t6y",
        "zaq12wsxcde3",
    }
)


class WeakPassphrase(ValueError):
    """The passphrase fails the strength policy; the message says why."""


@dataclass(frozen=True, slots=True)
class Hasher:
    """argon2id with explicit parameters (RFC 9106 low-memory profile by default)."""

    params: Parameters = field(default_factory=lambda: profiles.RFC_9106_LOW_MEMORY)

    def _ph(self) -> PasswordHasher:
        return PasswordHasher.from_parameters(self.params)

    def hash(self, secret: str) -> str:
        return self._ph().hash(secret)

    def verify(self, stored: str, secret: str) -> bool:
        """True on a match. Any malformed hash or mismatch is simply False."""
        try:
            return self._ph().verify(stored, secret)
        except (VerificationError, InvalidHashError):
            return False


def estimate_bits(passphrase: str) -> float:
    """A deliberately conservative estimate: length x log2(alphabet), with repeats counted once."""
    pools = 0
    if any(c in string.ascii_lowercase for c in passphrase):
        pools += 26
    if any(c in string.ascii_uppercase for c in passphrase):
        pools += 26
    if any(c in string.digits for c in passphrase):
        pools += 10
    if any(c in string.punctuation or c == " " for c in passphrase):
        pools += 33
    if any(ord(c) > 127 for c in passphrase):
        pools += 100
    # Runs of the same character add almost nothing.
    effective = sum(1 for i, c in enumerate(passphrase) if i == 0 or c != passphrase[i - 1])
    distinct = len(set(passphrase))
    return min(effective, distinct * 2) * math.log2(max(pools, 2))


def check_strength(passphrase: str, email: str) -> None:
    """Raise :class:`WeakPassphrase` with a message the admin can act on."""
    if len(passphrase) < MIN_LENGTH:
        raise WeakPassphrase(f"the passphrase must be at least {MIN_LENGTH} characters long")
    lowered = passphrase.lower()
    if lowered in COMMON or lowered.replace(" ", "") in COMMON:
        raise WeakPassphrase("this passphrase is on the list of common passwords")
    local = email.split("@", 1)[0].lower()
    if len(local) >= 3 and local in lowered:
        raise WeakPassphrase("the passphrase must not contain the email's name part")
    bits = estimate_bits(passphrase)
    if bits < MIN_BITS:
        raise WeakPassphrase(
            f"the passphrase is too predictable (about {bits:.0f} bits, {MIN_BITS:.0f} needed): "
            "make it longer or mix in other kinds of characters"
        )
