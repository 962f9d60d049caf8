"""An integration's settings form, wherever the console shows it (its settings page, the money page).

The fields come from the manifest; the current values from its READ tool (the result's ``settings``);
saving goes through its ADMIN (console-only) tool, which validates and refuses with a clear message.
Numbers are checked here first, so a typo never costs an authenticator code. A form marked
``step_up`` saves only with a fresh code. Every save is audited, refused or not, and a refused one
shows what the owner typed again, so nothing is lost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.datastructures import FormData

from integrations.manifest import Manifest, SettingField
from web.data import ConsoleData
from web.errors import StepUpRequired, TooManyAttempts
from web.guard import Principal, require_step_up
from web.routes.integrations import audit

NOT_ACCEPTED = "That authenticator code was not accepted; nothing was changed."


@dataclass
class Saved:
    """What a save did: ``error`` is None when the settings were stored."""

    values: dict[str, Any]
    error: str | None = None
    status: int = 200
    problems: list[str] = field(default_factory=list)


def form_value(f: SettingField, raw: str | None) -> Any:
    text = (raw or "").strip()
    if f.kind == "bool":
        return text in ("on", "true", "1")
    if f.kind == "list":
        return [w.strip().lower().replace(" ", "_") for w in text.split(",") if w.strip()]
    if f.kind in ("number", "integer"):
        if not text:
            return None if f.optional else ""
        try:
            return int(text) if f.kind == "integer" else float(text)
        except ValueError:
            return text
    return text


def shown(f: SettingField, value: Any) -> str:
    if f.kind == "list" and isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def rows(manifest: Manifest, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    assert manifest.settings is not None
    return [
        {"field": f, "value": shown(f, values.get(f.name)), "checked": bool(values.get(f.name))}
        for f in manifest.settings.fields
    ]


async def current(data: ConsoleData, manifest: Manifest) -> Mapping[str, Any] | None:
    """The stored settings, or None when they cannot be read."""
    assert manifest.settings is not None
    if data.tools is None:
        return None
    result = await data.tools.read(manifest.settings.read)
    found = result.content.get("settings") if result.ok and isinstance(result.content, Mapping) else None
    return found if isinstance(found, Mapping) else None


def parse(manifest: Manifest, form: FormData) -> tuple[dict[str, Any], list[str]]:
    """The typed values, and the problems a person can fix without the integration's help."""
    assert manifest.settings is not None
    values: dict[str, Any] = {}
    problems: list[str] = []
    for f in manifest.settings.fields:
        raw = v if isinstance(v := form.get(f.name), str) else None
        values[f.name] = form_value(f, raw)
        if f.kind in ("number", "integer") and isinstance(values[f.name], str):
            what = "a whole number" if f.kind == "integer" else "a number, e.g. 5000 or 231.50"
            problems.append(f"{f.label} must be {what}" if values[f.name] else f"{f.label} is needed")
    return values, problems


async def save(request: Request, principal: Principal, data: ConsoleData, manifest: Manifest) -> Saved:
    """Check, step up if the form asks for it, then save through the ADMIN tool; audited."""
    settings, name = manifest.settings, manifest.name
    assert settings is not None
    form = await request.form()
    values, problems = parse(manifest, form)
    resource = f"integration:{name}"
    if problems:
        await audit(request, principal, "integration.settings", "fail", resource=resource, reason="invalid")
        return Saved(values, "; ".join(problems) + ".", 422, problems)
    if data.tools is None:
        return Saved(values, "The agent is not running.", 503)
    if settings.step_up:
        try:
            await require_step_up(request, principal)
        except (StepUpRequired, TooManyAttempts):
            await audit(request, principal, "integration.settings", "fail", resource=resource, reason="step_up")
            return Saved(values, NOT_ACCEPTED, 422)
    result = await data.tools.console_only(settings.save, {"values": values})
    if not result.ok:
        await audit(request, principal, "integration.settings", "fail", resource=resource, reason="refused")
        message = re.sub(r"^Error executing tool \w+: ", "", result.error or "not saved").removeprefix(f"{name}: ")
        return Saved(values, message, 422)
    await audit(request, principal, "integration.settings", "ok", resource=resource, step_up=settings.step_up)
    return Saved(values)
