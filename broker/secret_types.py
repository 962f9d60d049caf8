"""Validation of secret values by type."""

from __future__ import annotations

import json
from typing import Any, Final

from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_ssh_private_key

from broker.errors import BadRequest

TYPES: Final = ("password", "ssh-private-key", "api-token", "oauth-token")
MAX_VALUE = 64 * 1024
OAUTH_META = ("expires_at", "scope", "token_type", "token_uri", "client_id", "refresh_expires_at")


def validate(kind: str, value: str) -> dict[str, Any]:
    """Check ``value`` for ``kind``; return the non-secret metadata it carries (oauth refresh metadata)."""
    if kind not in TYPES:
        raise BadRequest("invalid_type", f"type must be one of {', '.join(TYPES)}")
    if not value:
        raise BadRequest("invalid_value", "the value is empty")
    if len(value.encode("utf-8")) > MAX_VALUE:
        raise BadRequest("invalid_value", "the value is larger than 64 KiB")
    if kind == "ssh-private-key":
        _ssh_key(value)
    elif kind == "api-token" and (any(c.isspace() for c in value.strip()) or not value.strip()):
        raise BadRequest("invalid_value", "an api-token is one line without spaces")
    elif kind == "oauth-token":
        return _oauth(value)
    return {}


def _ssh_key(value: str) -> None:
    data = value.strip().encode("utf-8") + b"\n"
    if b"-----BEGIN OPENSSH PRIVATE KEY-----" in data:
        try:
            load_ssh_private_key(data, password=None)
        except ValueError as exc:
            if "encrypted" not in str(exc).lower() and "password" not in str(exc).lower():
                raise BadRequest("invalid_value", "not a valid OpenSSH private key") from None
        except Exception:  # noqa: BLE001 - the parser's failure types vary by key kind
            raise BadRequest("invalid_value", "not a valid OpenSSH private key") from None
        return
    if b"-----BEGIN" in data and b"PRIVATE KEY-----" in data:
        try:
            load_pem_private_key(data, password=None)
        except TypeError:
            return  # an encrypted PEM key: well-formed, protected by its passphrase
        except Exception:  # noqa: BLE001
            raise BadRequest("invalid_value", "not a valid PEM private key") from None
        return
    raise BadRequest("invalid_value", "an ssh-private-key must be in PEM or OpenSSH format")


def _oauth(value: str) -> dict[str, Any]:
    try:
        doc = json.loads(value)
    except ValueError:
        raise BadRequest("invalid_value", "an oauth-token is a JSON object") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("access_token"), str) or not doc["access_token"]:
        raise BadRequest("invalid_value", "an oauth-token needs a non-empty access_token")
    if "refresh_token" in doc and not isinstance(doc["refresh_token"], str):
        raise BadRequest("invalid_value", "refresh_token must be a string")
    return {k: doc[k] for k in OAUTH_META if k in doc}
