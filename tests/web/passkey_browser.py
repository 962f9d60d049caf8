"""Helpers for the passkey tests: Chromium with a virtual authenticator (the DevTools WebAuthn
domain, driven from Playwright), a console served on ``localhost`` at a port chosen beforehand (its
configured address: the relying party id and origin), and a second site on another port."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.async_api import BrowserContext, CDPSession, Page, async_playwright

from tests.web.conftest import CHEAP_ARGON2, Console, FakeClock, serve
from web.config import ConsoleConfig

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
SCRIPT = Path(__file__).resolve().parents[2] / "web" / "static" / "passkeys.js"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def config_for(clock: FakeClock, port: int) -> ConsoleConfig:
    return ConsoleConfig(
        clock=clock,
        argon2=CHEAP_ARGON2,
        auth_rate=(100.0, 1000),
        api_rate=(1000.0, 5000),
        public_url=f"http://localhost:{port}",
    )


@dataclass
class Phone:
    """A browser tab with a virtual platform authenticator."""

    context: BrowserContext
    page: Page
    cdp: CDPSession
    authenticator: str
    base: str  # the console as the browser sees it: http://localhost:<port>

    async def credentials(self) -> list[dict[str, Any]]:
        found = await self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.authenticator})
        creds: list[dict[str, Any]] = found["credentials"]
        return creds

    async def set_counter(self, credential: dict[str, Any], count: int) -> None:
        """A cloned authenticator: the same key, with its signature counter set to ``count``."""
        await self.cdp.send(
            "WebAuthn.removeCredential",
            {"authenticatorId": self.authenticator, "credentialId": credential["credentialId"]},
        )
        await self.cdp.send(
            "WebAuthn.addCredential",
            {"authenticatorId": self.authenticator, "credential": {**credential, "signCount": count}},
        )

    async def login_with_code(self, console: Console) -> None:
        await self.page.goto(f"{self.base}/login")
        await self.page.fill("#email", console.email)
        await self.page.fill("#passphrase", console.passphrase)
        await self.page.fill("#code", console.fresh_code())
        await self.page.click("button[type=submit]")
        await self.page.wait_for_url(f"{self.base}/")

    async def add_passkey(self, console: Console, name: str) -> None:
        await self.page.goto(f"{self.base}/passkeys")
        await self.page.fill("#passkey-name", name)
        await self.page.fill("#passkey-code", console.fresh_code())
        await self.page.click("#add-passkey-button")
        await self.page.wait_for_selector("#passkeys td.name")

    async def manage(self, console: Console, form_class: str) -> None:
        """Open the first passkey's "Change" and submit one of its forms with a fresh code."""
        await self.page.goto(f"{self.base}/passkeys")
        await self.page.click("#passkeys summary")
        form = self.page.locator(f"#passkeys form.{form_class}").first
        await form.locator("input[name=step_up_code]").fill(console.fresh_code())
        async with self.page.expect_navigation():
            await form.locator("button[type=submit]").click()

    async def assertion(self, options: dict[str, Any]) -> str:
        """What the console's script would send for ``options``, from whatever page is open."""
        if not await self.page.evaluate("typeof getAssertion === 'function'"):
            await self.page.add_script_tag(path=str(SCRIPT))  # the console's static files are same-origin only
        text: str = await self.page.evaluate("async (o) => getAssertion(o)", options)
        return text

    async def post_json(self, path: str) -> dict[str, Any]:
        """A same-origin fetch from the current console page, with its CSRF token."""
        script = """async (path) => {
          const csrf = document.querySelector("input[name=csrf_token]").value;
          const r = await fetch(path, {method: "POST", headers: {"X-CSRF-Token": csrf,
            "Content-Type": "application/json"}, body: "{}"});
          return {status: r.status, body: await r.json()};
        }"""
        out: dict[str, Any] = await self.page.evaluate(script, path)
        return out

    async def post_form(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        csrf = await self.page.input_value("input[name=csrf_token]")
        r = await self.page.request.post(f"{self.base}{path}", form={"csrf_token": csrf, **fields}, max_redirects=0)
        return r.status, await r.text()


@asynccontextmanager
async def phone(base: str) -> AsyncIterator[Phone]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 390, "height": 844})
            page = await context.new_page()
            page.on("dialog", lambda d: d.accept())
            cdp = await context.new_cdp_session(page)
            await cdp.send("WebAuthn.enable", {"enableUI": False})
            added = await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
            yield Phone(context, page, cdp, str(added["authenticatorId"]), base)
        finally:
            await browser.close()


@asynccontextmanager
async def other_site() -> AsyncIterator[str]:
    """Another origin with the same host name (so the browser lets it use the RP id ``localhost``):
    what a phishing page on another port of the owner's machine could do."""
    app = FastAPI()

    @app.get("/")
    async def index() -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>Not Aegis</title><p>Not Aegis</p>")

    port = free_port()
    server, task, _url = await serve(app, port)
    try:
        yield f"http://localhost:{port}"
    finally:
        server.should_exit = True
        await task
