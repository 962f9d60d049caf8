"""The installed integrations: the one list. Adding an integration adds one line here.

Each name is a folder ``mcp_servers/<name>/`` with a ``manifest.yaml`` (see
:mod:`integrations.manifest`), a client under ``tools/<name>/`` and tests under
``tests/tools/<name>/`` and ``tests/mcp_servers/<name>/``.
"""

from __future__ import annotations

INSTALLED: tuple[str, ...] = (
    "gcalendar",
    "gmail",
    "plaid",
    "schwab",
    "whatsapp",
    "canvas",
    "blackboard",
    "pearson",
    "activitywatch",
    "applehealth",
    "garmin",
    "memory",
    "outlook",
    "groceries",
    "transcripts",
    "news",
    "linkedin",
    "twitter",
)
