"""The content engine's settings: what the owner writes about, how they write, the hosts a draft may
link to, and the networks it drafts nothing for. The form is checked here for shape (sizes, host
names, known networks) and by the engine for meaning; either refusal shows the form again with
everything the owner typed and the reason. Audited as ``content.settings`` (counts, not the words).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData
from starlette.responses import Response

from agent.content.ports import ContentError, ContentService, ContentSettings
from web.guard import CurrentPrincipal, Principal
from web.routes.content import OFF, content_of
from web.routes.integrations import audit
from web.sanitize import INVISIBLE
from web.state import console

router = APIRouter()
MAX_THEMES, MAX_THEME = 20, 120
MAX_VOICE = 2000
MAX_HOSTS = 50
HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class FormProblem(ValueError):
    """A field the owner must change; the message names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _lines(raw: str) -> list[str]:
    out: list[str] = []
    for line in raw.splitlines():
        item = " ".join(line.split())
        if item and item.casefold() not in {o.casefold() for o in out}:
            out.append(item)
    return out


def _host(line: str) -> str:
    """A bare host name; a pasted address is reduced to its host (``https://example.org/a`` -> ``example.org``)."""
    value = line.strip().lower()
    if "://" in value:
        value = value.split("://", 1)[1]
    value = value.split("/", 1)[0].split(":", 1)[0]
    if not HOST.match(value):
        raise FormProblem(f"“{line[:80]}” is not a host name. Write one per line, like example.org.", "allowed_links")
    return value


def parse(form: dict[str, Any], networks: list[tuple[str, str]]) -> ContentSettings:
    """The settings the form asks for (FormProblem with the first thing to fix)."""
    themes = _lines(form["themes"])
    if len(themes) > MAX_THEMES or any(len(t) > MAX_THEME for t in themes):
        raise FormProblem(f"Themes: at most {MAX_THEMES}, one per line, each up to {MAX_THEME} characters.", "themes")
    voice = form["voice"].replace("\r\n", "\n").strip()
    if len(voice) > MAX_VOICE:
        raise FormProblem(f"Your voice is {len(voice):,} characters; keep it under {MAX_VOICE:,}.", "voice")
    if INVISIBLE.search(voice) or any(INVISIBLE.search(t) for t in themes):
        raise FormProblem(
            "Your themes or voice contain hidden characters (zero-width or direction marks). Retype them.", "voice"
        )
    hosts: list[str] = []
    for line in _lines(form["allowed_links"]):
        host = _host(line)
        if host not in hosts:
            hosts.append(host)
    if len(hosts) > MAX_HOSTS:
        raise FormProblem(f"Allowed links: at most {MAX_HOSTS} hosts.", "allowed_links")
    known = {integration for integration, _name in networks}
    unknown = [p for p in form["paused"] if p not in known]
    if unknown:
        raise FormProblem(f"“{unknown[0][:40]}” is not a network installed here.", "paused")
    return ContentSettings(tuple(themes), voice, tuple(hosts), tuple(form["paused"]))


def _raw(form: FormData) -> dict[str, Any]:
    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    paused = [p for p in form.getlist("paused") if isinstance(p, str)]
    return {"themes": text("themes"), "voice": text("voice"), "allowed_links": text("allowed_links"), "paused": paused}


def _shown(values: ContentSettings) -> dict[str, Any]:
    return {
        "themes": "\n".join(values.themes),
        "voice": values.voice,
        "allowed_links": "\n".join(values.allowed_links),
        "paused": list(values.paused),
    }


async def _page(
    request: Request,
    principal: Principal,
    service: ContentService | None,
    *,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    invalid: str | None = None,
    status: int = 200,
) -> Response:
    """``invalid``: the field the error is about (marked for screen readers)."""
    c = console(request)
    ctx: dict[str, Any] = {
        "nav": "content",
        "csrf": c.keys.csrf_token(principal.session_id),
        "service": service is not None,
        "error": error if service is not None else OFF,
        "invalid": invalid,
        "saved": request.query_params.get("notice") == "saved",
        "networks": service.networks() if service is not None else [],
        "form": form if form is not None else (_shown(await service.settings()) if service is not None else {}),
        "limits": {"themes": MAX_THEMES, "theme": MAX_THEME, "voice": MAX_VOICE, "hosts": MAX_HOSTS},
    }
    return c.templates.TemplateResponse(request, "content_settings.html", ctx, status_code=status)


@router.get("/content/settings")
async def settings_page(request: Request, principal: CurrentPrincipal) -> Response:
    return await _page(request, principal, content_of(request))


@router.post("/content/settings")
async def settings_save(request: Request, principal: CurrentPrincipal) -> Response:
    service = content_of(request)
    raw = _raw(await request.form())
    if service is None:
        return await _page(request, principal, None, form=raw, status=503)
    try:
        wanted = parse(raw, service.networks())
        current = await service.settings()
        saved = await service.save_settings(
            ContentSettings(wanted.themes, wanted.voice, wanted.allowed_links, wanted.paused, dict(current.extra))
        )
    except (FormProblem, ContentError) as exc:
        reason = "invalid_form" if isinstance(exc, FormProblem) else "refused"
        await audit(request, principal, "content.settings", "fail", resource="content:settings", reason=reason)
        field = exc.field if isinstance(exc, FormProblem) else None
        return await _page(request, principal, service, form=raw, error=f"Not saved: {exc}", invalid=field, status=422)
    await audit(request, principal, "content.settings", "ok", resource="content:settings", themes=len(saved.themes),
                hosts=len(saved.allowed_links), paused=list(saved.paused))  # fmt: skip
    return RedirectResponse("/content/settings?notice=saved", status_code=303)
