"""Browser automation for sources without an API: Playwright with Debian's Chromium."""
