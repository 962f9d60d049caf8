"""What every mail server checks the same way: recipients are plain addresses, one per list item."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tools.errors import InvalidRequest

_ADDRESS = re.compile(r"[^@\s,;<>\"()\[\]\\]+@[^@\s,;<>\"()\[\]\\]+")


def check_addresses(values: Sequence[str], what: str, integration: str | None = None) -> list[str]:
    """Plain addresses only (``name@host``): one recipient per list item, nothing to smuggle."""
    out: list[str] = []
    for value in values:
        if not isinstance(value, str) or not _ADDRESS.fullmatch(value.strip()):
            raise InvalidRequest(
                f"{what}: each item must be one plain address like name@example.com", integration=integration
            )
        out.append(value.strip())
    return out
