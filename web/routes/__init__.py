"""The console's routers. Each is included by ``create_app``; none carries its own auth (the app does)."""
