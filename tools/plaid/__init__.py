"""Plaid client (direct JSON over httpx), models and a sandbox demo transport."""

from tools.plaid.client import PlaidClient

__all__ = ["PlaidClient"]
