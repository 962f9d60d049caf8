"""The Outlook client: Graph mail and calendar over one token source and one HTTP client."""

from __future__ import annotations

from tools.outlook.calendar import GraphCalendar
from tools.outlook.mail import GraphMail


class OutlookClient(GraphMail, GraphCalendar):
    """Mail (:class:`GraphMail`) and calendar (:class:`GraphCalendar`) calls to Microsoft Graph."""

    async def health_check(self) -> bool:
        return await GraphCalendar.health_check(self)
