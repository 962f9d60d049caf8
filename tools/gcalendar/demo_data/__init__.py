"""The demo calendar's events, written relative to an anchor day."""
