"""Microsoft Graph (Outlook) clients. Not installed as an integration yet: the calendar delta client only."""
