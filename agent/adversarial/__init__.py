"""The adversarial suite's runner: a simulated world behind the real gateway, a scripted
worst-case model, simulated approvers, data-driven cases, metrics and the report.

Run it by hand with ``uv run python -m agent.adversarial tests/security/cases``.
"""
