"""The phone's way in: the ingest route and its per-device tokens (wired by the console)."""
