"""Google Calendar API v3 client, models and a demo calendar transport."""

from tools.gcalendar.client import CalendarClient

__all__ = ["CalendarClient"]
