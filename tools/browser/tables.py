"""Reading a table the way a person does: by its column headings, not by their positions.

:func:`read_rows` maps each body row to ``{key: cell text}`` by finding, for every key, the column
whose heading contains one of its words; a required key whose heading is gone means the page
changed (:class:`~tools.browser.pages.NeedsAttention` ``layout_changed``), never an empty table.
Each row also yields its first link's ``href`` and any ``data-id`` attribute.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from playwright.async_api import Locator

from tools.browser.pages import NeedsAttention

_ROWS_JS = """(table) => {
  const heads = [...table.querySelectorAll('thead th, thead td, tr:first-child th')].map(h => h.innerText.trim());
  const rows = [...table.querySelectorAll('tbody tr')].filter(r => r.querySelector('td'));
  return {heads, rows: rows.map(r => ({
    cells: [...r.querySelectorAll('th, td')].map(c => c.innerText.trim()),
    href: r.querySelector('a[href]')?.getAttribute('href') ?? null,
    id: r.getAttribute('data-id') ?? r.querySelector('[data-id]')?.getAttribute('data-id') ?? null,
  }))};
}"""


async def read_rows(
    table: Locator,
    columns: Mapping[str, Sequence[str]],
    *,
    required: Sequence[str],
    source: str,
    what: str,
) -> list[dict[str, str | None]]:
    found = await table.evaluate(_ROWS_JS)
    heads = [str(h).lower() for h in found["heads"]]
    index: dict[str, int] = {}
    for key, words in columns.items():
        hit = next((i for i, h in enumerate(heads) if any(w in h for w in words)), None)
        if hit is not None:
            index[key] = hit
    missing = [k for k in required if k not in index]
    if missing:
        raise NeedsAttention(
            "layout_changed", f"{what} has no {', '.join(missing)} column any more", integration=source
        )
    out: list[dict[str, str | None]] = []
    for row in found["rows"]:
        cells = [str(c) for c in row["cells"]]
        item: dict[str, str | None] = {k: (cells[i] if i < len(cells) else None) for k, i in index.items()}
        item["href"], item["data_id"] = row["href"], row["id"]
        out.append(item)
    return out


@dataclass(frozen=True)
class Scraped:
    """One assignment, test or quiz as a page showed it."""

    id: str
    name: str
    due_at: datetime | None
    state: Literal["unsubmitted", "submitted", "graded"]
    score: float | None
    points: float | None
    kind: str = "assignment"
    url: str | None = None


_FORMATS = (
    "%m/%d/%y, %I:%M %p",
    "%m/%d/%y %I:%M %p",
    "%m/%d/%Y, %I:%M %p",
    "%m/%d/%Y %I:%M %p",
    "%b %d, %Y %I:%M %p",
    "%b %d, %Y, %I:%M %p",
    "%B %d, %Y %I:%M %p",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)


def parse_when(text: str | None, zone: str) -> datetime | None:
    """A due date as a site prints it for a person (``Due 12/4/26, 11:59 PM``, ``Dec 4, 2026 11:59pm``),
    read on the owner's clock ``zone``; None for "-", "No due date" and other non-dates."""
    if not text:
        return None
    flat = re.sub(r"^(due( date)?:?)\s*", "", " ".join(text.split()), flags=re.I)
    flat = re.sub(r"\s*([ap])\.?m\.?$", lambda m: f" {m.group(1).upper()}M", flat, flags=re.I)
    for fmt in _FORMATS:
        try:
            local = datetime.strptime(flat, fmt)  # noqa: DTZ007 - the zone is attached next
        except ValueError:
            continue
        if fmt == "%Y-%m-%d":
            local = local.replace(hour=23, minute=59)
        return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return None


def parse_score(text: str | None) -> tuple[float | None, float | None]:
    """``28.5/30`` -> (28.5, 30.0); ``92%`` -> (92.0, 100.0); ``-``, ``--`` or words -> (None, None)."""
    if not text:
        return None, None
    m = re.search(r"(-?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)", text)
    if m:
        return float(m.group(1)), float(m.group(2))
    m = re.search(r"(-?\d+(?:\.\d+)?)\s*%", text)
    if m:
        return float(m.group(1)), 100.0
    return None, None
