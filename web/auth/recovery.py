"""One-time recovery codes: shown once, stored as argon2id hashes, each usable once."""

from __future__ import annotations

import secrets

COUNT = 10
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read off paper without mistakes
_GROUPS = 3
_GROUP_LEN = 4


def new_codes(count: int = COUNT) -> list[str]:
    """``count`` codes of 12 symbols from a 32-symbol alphabet (60 bits each), as XXXX-XXXX-XXXX."""
    return [
        "-".join("".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LEN)) for _ in range(_GROUPS))
        for _ in range(count)
    ]


def normalize(code: str) -> str:
    """Accept lower case and missing or extra separators; hashes are always of the canonical form."""
    raw = "".join(c for c in code.upper() if c.isalnum())
    if len(raw) != _GROUPS * _GROUP_LEN:
        return ""
    return "-".join(raw[i : i + _GROUP_LEN] for i in range(0, len(raw), _GROUP_LEN))
