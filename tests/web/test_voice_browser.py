"""The voice page in Debian's chromium on a phone viewport, with a fake microphone: Chromium's fake
media stream flags play a WAV made offline (by the offline TTS) into getUserMedia."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import async_playwright

from agent.model import ScriptedModel
from tests.voice.engines import shared_engines, spoken, with_silence
from tests.web.agent_stack import AgentConsole, agent_console
from tests.web.conftest import FakeClock
from tests.web.test_browser import ARGS, SHOTS, _login, _watch_csp
from tests.web.test_voice import voice_script
from voice.audio import STT_RATE, wav_bytes
from web.app import enable_voice
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def has_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/system-packages installs it)")


@pytest.fixture
async def stack(
    has_chromium: None, db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig
) -> AsyncIterator[AgentConsole]:
    async with agent_console(db_url, tmp_path, clock, console_config, ScriptedModel(voice_script)) as ac:
        enable_voice(ac.console.app, shared_engines(), ac.console.db, ac.console.keyring)
        yield ac


async def test_voice_page_on_a_phone_with_a_fake_microphone(stack: AgentConsole, tmp_path: Path) -> None:
    c = stack.console
    # The fake microphone loops its file: one question, then a long silence.
    speech = with_silence(spoken("What is my balance?"), before=1.0, after=0.0)
    mic = tmp_path / "mic.wav"
    mic.write_bytes(wav_bytes(np.concatenate([speech, np.zeros(30 * STT_RATE, np.float32)]), STT_RATE))
    flags = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={mic}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS + flags, headless=True)
        try:
            phone = await browser.new_context(
                viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, permissions=["microphone"]
            )
            page = await phone.new_page()
            violations: list[str] = []
            _watch_csp(page, violations)
            await _login(page, c)
            await page.locator("#phone-nav").get_by_role("link", name="Voice").click()
            await page.wait_for_url(f"{c.url}/voice")
            assert await page.get_attribute("#voice-state", "data-state") == "off"
            await page.click("#voice-start")
            await page.wait_for_selector("#voice-log li.owner", timeout=60_000)
            said = await page.text_content("#voice-log li.owner") or ""
            assert "balance" in said.lower()
            await page.wait_for_selector("#voice-state[data-first-audio]", state="attached", timeout=60_000)
            answer = await page.text_content("#voice-log li.assistant") or ""
            assert answer.startswith("Your balances: Plaid")
            first_audio = float(await page.get_attribute("#voice-state", "data-first-audio") or "nan")
            assert 0 < first_audio < 15
            assert await page.is_visible("#voice-chat-link")
            await page.screenshot(path=str(SHOTS / "voice-phone.png"), full_page=True)
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390  # nothing forces sideways scrolling on a phone
            await page.click("#voice-start")  # hands-free off: the socket closes
            await page.wait_for_selector("#voice-state[data-state=off]", state="attached")
            desktop = await browser.new_context(viewport={"width": 1280, "height": 800})
            wide = await desktop.new_page()
            _watch_csp(wide, violations)
            await _login(wide, c)
            await wide.goto(f"{c.url}/voice")
            assert await wide.is_enabled("#voice-start") and await wide.is_visible("#recording")
            await wide.screenshot(path=str(SHOTS / "voice.png"), full_page=True)
            assert violations == []
        finally:
            await browser.close()
