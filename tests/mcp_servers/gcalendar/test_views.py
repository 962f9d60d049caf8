"""The agenda panel and the briefing's meetings section, as the core renders them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations import load_manifest
from integrations.views import render, resolve_args
from tests.mcp_servers.conftest import call
from tests.mcp_servers.gcalendar.conftest import Cal

pytestmark = pytest.mark.anyio


async def test_the_agenda_panel_and_the_briefing_show_todays_meetings(gcal: Cal) -> None:
    manifest = load_manifest("gcalendar")
    panel = manifest.panels[0]
    (section,) = manifest.briefing
    assert (panel.tool, panel.args, panel.render) == (section.tool, section.args, section.render)
    args = resolve_args(panel.args, datetime.now(UTC).date())
    assert args["start"] == datetime.now(UTC).date().isoformat()
    result = await call(gcal.client, gcal.tokens, panel.tool.partition(".")[2], args, "calendar.read")
    shown = render(panel.render, result)
    lines = shown.lines()
    assert [i.title for i in shown.items] == ["Team standup", "1:1 with Dana", "Weekly review"]
    assert [i.when for i in shown.items] == ["09:30-09:45 UTC", "15:00-15:30 UTC", "16:00-16:30 UTC"]
    assert any("1:1 with Dana" in line for line in lines)
