"""Shared pieces of OAuth run by an integration's own server (``connect.authorize_tool``/``redeem_tool``)."""

from __future__ import annotations

import ipaddress
from typing import Annotated
from urllib.parse import urlsplit

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field
from typing_extensions import TypedDict

RedirectUri = Annotated[str, Field(min_length=10, max_length=500)]
State = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{16,128}$")]
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9._~+/=-]{1,2048}$")]


class AuthorizeResult(TypedDict):
    url: str
    host: str


class RedeemResult(TypedDict):
    stored: str


def callback_url(value: str, integration: str) -> str:
    """The console's callback: https, or plain http only to this machine."""
    parts = urlsplit(value)
    host = parts.hostname or ""
    try:
        local = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = False
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise ToolError(f"{integration}: the callback URL must be https (or http on this machine)")
    if parts.query or parts.fragment or not parts.path:
        raise ToolError(f"{integration}: the callback URL is a plain address with a path")
    return value
