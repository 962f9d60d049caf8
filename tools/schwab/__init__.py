"""Charles Schwab client (schwab-py's asyncio client, its token in the broker's vault), models and a demo."""

from tools.schwab.client import SchwabClient

__all__ = ["SchwabClient"]
