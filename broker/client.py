"""An async client for the broker's HTTP API (used by the CLI and by other Aegis processes)."""

from __future__ import annotations

from typing import Any

import httpx


class BrokerClientError(Exception):
    """The broker refused a request; ``code`` is its reason code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class BrokerClient:
    def __init__(self, http: httpx.AsyncClient, *, admin_token: str | None = None, trace_id: str | None = None) -> None:
        self._http = http
        self.http = http
        self._admin = admin_token
        self._trace = trace_id

    def _headers(self, *, admin: bool = False, bearer: str | None = None) -> dict[str, str]:
        h: dict[str, str] = {}
        if admin:
            if not self._admin:
                raise BrokerClientError(0, "no_admin_token", "no broker admin token configured")
            h["X-Admin-Token"] = self._admin
        if bearer:
            h["Authorization"] = f"Bearer {bearer}"
        if self._trace:
            h["X-Trace-Id"] = self._trace
        return h

    async def call(
        self, method: str, path: str, *, admin: bool = False, bearer: str | None = None, **kwargs: Any
    ) -> Any:
        r = await self._http.request(method, path, headers=self._headers(admin=admin, bearer=bearer), **kwargs)
        if r.status_code >= 400:
            try:
                body = r.json()
                code, message = str(body.get("error", "error")), str(body.get("message", ""))
            except ValueError:
                code, message = "error", r.text[:200]
            raise BrokerClientError(r.status_code, code, message)
        return r.json()

    async def health(self) -> dict[str, Any]:
        r = await self._http.get("/health")
        body: dict[str, Any] = r.json()
        return body

    async def create_key(self, **body: Any) -> dict[str, Any]:
        out: dict[str, Any] = await self.call("POST", "/v1/keys", admin=True, json=body)
        return out

    async def mint(
        self, api_key: str, *, aud: str, scopes: list[str], resource: str, ttl_seconds: int
    ) -> dict[str, Any]:
        body = {"aud": aud, "scopes": scopes, "resource": resource, "ttl_seconds": ttl_seconds}
        out: dict[str, Any] = await self.call("POST", "/v1/token", bearer=api_key, json=body)
        return out

    async def exchange(
        self,
        subject_token: str,
        *,
        audience: str,
        scopes: list[str],
        resource: str,
        actor: str | None = None,
        ttl_seconds: int | None = None,
    ) -> dict[str, Any]:
        form = {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": subject_token,
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "audience": audience,
            "resource": resource,
            "scope": " ".join(scopes),
        }
        if actor:
            form["actor"] = actor
        if ttl_seconds is not None:
            form["ttl_seconds"] = str(ttl_seconds)
        out: dict[str, Any] = await self.call("POST", "/v1/token/exchange", data=form)
        return out

    async def revoke_key(self, key_id: str, reason: str = "admin") -> dict[str, Any]:
        out: dict[str, Any] = await self.call(
            "POST", "/v1/revoke/key", admin=True, json={"key_id": key_id, "reason": reason}
        )
        return out

    async def revoke_token(self, jti: str, reason: str = "admin") -> dict[str, Any]:
        out: dict[str, Any] = await self.call(
            "POST", "/v1/revoke/token", admin=True, json={"jti": jti, "reason": reason}
        )
        return out

    async def add_secret(
        self, name: str, value: str, *, kind: str, resource: str | None, token: str | None = None
    ) -> dict[str, Any]:
        """With ``token`` (scope secrets.write), only a secret bound to the token's resource."""
        body = {"name": name, "value": value, "type": kind, "resource": resource}
        out: dict[str, Any] = await self.call("POST", "/v1/secrets", admin=token is None, bearer=token, json=body)
        return out

    async def list_secrets(self, *, include_deleted: bool = False, token: str | None = None) -> list[dict[str, Any]]:
        params = {"include_deleted": include_deleted}
        out: list[dict[str, Any]] = await self.call(
            "GET", "/v1/secrets", admin=token is None, bearer=token, params=params
        )
        return out

    async def rotate_secret(self, name: str, value: str, *, token: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = await self.call(
            "PUT", f"/v1/secrets/{name}", admin=token is None, bearer=token, json={"value": value}
        )
        return out

    async def delete_secret(self, name: str, *, purge: bool = False, token: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = await self.call(
            "DELETE", f"/v1/secrets/{name}", admin=token is None, bearer=token, params={"purge": purge}
        )
        return out

    async def read_secret(self, name: str, token: str) -> dict[str, Any]:
        out: dict[str, Any] = await self.call("GET", f"/v1/secrets/{name}", bearer=token)
        return out

    async def principals(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = await self.call("GET", "/v1/principals", admin=True)
        return out

    async def principal(self, ident: str) -> dict[str, Any]:
        out: dict[str, Any] = await self.call("GET", f"/v1/principals/{ident}", admin=True)
        return out

    async def set_policy(
        self,
        ident: str,
        max_scopes: list[str] | None,
        max_resources: list[str] | None,
        *,
        may_act_for: list[str] | None = None,
    ) -> dict[str, Any]:
        """``may_act_for``: the audiences the principal's tokens may be exchanged for (None: unchanged)."""
        body: dict[str, Any] = {"max_scopes": max_scopes, "max_resources": max_resources}
        if may_act_for is not None:
            body["may_act_for"] = may_act_for
        out: dict[str, Any] = await self.call("PUT", f"/v1/principals/{ident}/policy", admin=True, json=body)
        return out

    async def disable_principal(self, ident: str) -> dict[str, Any]:
        out: dict[str, Any] = await self.call("POST", f"/v1/principals/{ident}/disable", admin=True)
        return out

    async def audit(self, **params: Any) -> dict[str, Any]:
        clean = {k: v for k, v in params.items() if v is not None}
        out: dict[str, Any] = await self.call("GET", "/v1/audit", admin=True, params=clean)
        return out

    async def admin_post(self, path: str) -> dict[str, Any]:
        out: dict[str, Any] = await self.call("POST", path, admin=True)
        return out

    async def revoke_signing_key(self, kid: str, reason: str = "compromised") -> dict[str, Any]:
        out: dict[str, Any] = await self.call(
            "POST", f"/v1/admin/signing-key/{kid}/revoke", admin=True, json={"reason": reason}
        )
        return out

    async def admin_get(self, path: str) -> dict[str, Any]:
        out: dict[str, Any] = await self.call("GET", path, admin=True)
        return out
