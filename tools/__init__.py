"""Integration clients: API communication only (typed models, typed errors, retries, no business logic).

Service logic — what a sync stores, how it is transformed and queried — lives in ``mcp_servers/``.
Nothing here imports ``mcp``, ``storage``, ``agent`` or ``web``.
"""
