"""Grammar of scopes, resources and audiences, and the principal ceiling check.

Everything here is exact-string: there are no wildcards, no prefix matching and no case folding.
Regular expressions are applied with ``fullmatch`` (``$`` would accept a trailing newline).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

MAX_SCOPES = 128  # the console key holds a scope or two per installed integration
MAX_SCOPE_LEN = 64
MAX_AUDIENCE_LEN = 255

_SCOPE_RE = re.compile(r"[a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*)+")
_RESOURCE_RE = re.compile(r"[a-z][a-z0-9_-]*:[A-Za-z0-9._@/-]{1,200}")
_SERVICE_RE = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_URI_CHARS_RE = re.compile(r"[A-Za-z0-9._~:/@%!$&'()+,;=\[\]-]+")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1"})
_WILDCARDS = ("*", "?")


class ScopeError(ValueError):
    """A scope, resource or audience that does not follow the grammar."""


def _show(value: object) -> str:
    """A short, printable rendering of a rejected value for error messages."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def validate_scope(scope: object) -> str:
    """Check one scope token such as ``secrets.read``."""
    if not isinstance(scope, str):
        raise ScopeError(f"scope must be a string, got {type(scope).__name__}")
    if any(w in scope for w in _WILDCARDS):
        raise ScopeError(f"wildcards are not allowed in scopes: {_show(scope)}")
    if len(scope) > MAX_SCOPE_LEN:
        raise ScopeError(f"scope longer than {MAX_SCOPE_LEN} characters: {_show(scope)}")
    if not _SCOPE_RE.fullmatch(scope):
        raise ScopeError(f"scope must look like 'area.action' (lowercase, dotted): {_show(scope)}")
    return scope


def validate_scopes(scopes: Sequence[str]) -> list[str]:
    """Validate a non-empty list of distinct exact scopes; return them sorted."""
    if isinstance(scopes, (str, bytes)) or not isinstance(scopes, Sequence):
        raise ScopeError("scopes must be a list of strings, not a single string")
    if not scopes:
        raise ScopeError("at least one scope is required")
    if len(scopes) > MAX_SCOPES:
        raise ScopeError(f"at most {MAX_SCOPES} scopes are allowed, got {len(scopes)}")
    seen: set[str] = set()
    for scope in scopes:
        validate_scope(scope)
        if scope in seen:
            raise ScopeError(f"duplicate scope: {_show(scope)}")
        seen.add(scope)
    return sorted(seen)


def validate_resource(resource: str) -> str:
    """Check a ``kind:name`` resource such as ``host:server1`` or ``secret:bank-token``."""
    if not isinstance(resource, str):
        raise ScopeError(f"resource must be a string, got {type(resource).__name__}")
    if any(w in resource for w in _WILDCARDS):
        raise ScopeError(f"wildcards are not allowed in resources: {_show(resource)}")
    if not _RESOURCE_RE.fullmatch(resource):
        raise ScopeError(f"resource must look like 'kind:name': {_show(resource)}")
    name = resource.split(":", 1)[1]
    if "/" in name and any(seg in ("", ".", "..") for seg in name.split("/")):
        raise ScopeError(f"resource name has an empty, '.' or '..' path segment: {_show(resource)}")
    if name in (".", ".."):
        raise ScopeError(f"resource name cannot be '.' or '..': {_show(resource)}")
    return resource


def validate_audience(aud: str) -> str:
    """Check a single audience: an ``https://`` URI, a loopback ``http://`` URI or a service name."""
    if not isinstance(aud, str):
        raise ScopeError(f"audience must be a single string, got {type(aud).__name__}")
    if any(w in aud for w in _WILDCARDS):
        raise ScopeError(f"wildcards are not allowed in audiences: {_show(aud)}")
    if len(aud) > MAX_AUDIENCE_LEN:
        raise ScopeError(f"audience longer than {MAX_AUDIENCE_LEN} characters")
    if "://" not in aud:
        if not _SERVICE_RE.fullmatch(aud):
            raise ScopeError(f"audience must be a URI or a lowercase service name: {_show(aud)}")
        return aud
    if not _URI_CHARS_RE.fullmatch(aud):
        raise ScopeError(f"audience URI has characters that are not allowed: {_show(aud)}")
    try:
        parts = urlsplit(aud)
        port = parts.port
    except ValueError as exc:
        raise ScopeError(f"audience is not a valid URI: {_show(aud)}") from exc
    del port  # parsed only to reject an invalid port
    if parts.query or parts.fragment or "?" in aud or "#" in aud:
        raise ScopeError("audience URI must not have a query or fragment (RFC 8707)")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ScopeError("audience URI must not carry user information")
    host = parts.hostname
    if not host:
        raise ScopeError(f"audience URI has no host: {_show(aud)}")
    if parts.scheme == "https":
        return aud
    if parts.scheme == "http" and host in _LOOPBACK_HOSTS:
        return aud
    raise ScopeError(f"audience URI must be https:// (or http:// on loopback): {_show(aud)}")


def check_ceiling(requested: Sequence[str], ceiling: Sequence[str] | None) -> list[str]:
    """Return the requested scopes the ceiling does not allow (``None`` allows all, ``[]`` none).

    Matching is exact: ``secrets`` does not allow ``secrets.read`` and nothing is a wildcard.
    """
    if isinstance(requested, str) or (ceiling is not None and isinstance(ceiling, str)):
        raise ScopeError("scopes and ceiling must be lists of strings, not single strings")
    if ceiling is None:
        return []
    allowed = frozenset(ceiling)
    return [scope for scope in requested if scope not in allowed]
