"""One MCP tool server per integration, each run in its own process (``python -m mcp_servers.<name>``).

Service logic lives here: what a sync fetches and stores (encrypted, idempotently), and how stored
data is queried. Vendor HTTP is the job of the clients in ``tools/``. Every tool call must carry a
broker-issued token for the server's audience and the tool's scope (see :mod:`mcp_servers._common`).
"""
