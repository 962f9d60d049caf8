"""Microsoft Graph (Outlook mail and calendar) clients: tokens with msal, every Graph call with httpx."""
