"""The number of approvals waiting, shown as a badge in the navigation of every page.

An app-level dependency that runs after :func:`web.guard.guard`, only for page loads (GET, HTML) of
a logged-in owner; it puts the count on ``request.state`` for ``base.html``. API calls and public
pages never pay for the query.
"""

from __future__ import annotations

from fastapi import Request

from agent.services import AgentServices
from web.guard import PUBLIC, route_path, wants_html


async def approvals_badge(request: Request) -> None:
    if request.method != "GET" or not wants_html(request) or ("GET", route_path(request)) in PUBLIC:
        return
    agent = getattr(request.app.state, "agent", None)
    if isinstance(agent, AgentServices):
        request.state.approvals_waiting = len(await agent.approvals.pending())
