"""WhatsApp through the bridge (``whatsapp-bridge/``): client, models, broker tokens, process spec."""

from tools.whatsapp.client import WhatsAppClient
from tools.whatsapp.errors import NotConnected
from tools.whatsapp.tokens import BridgeTokens

__all__ = ["BridgeTokens", "NotConnected", "WhatsAppClient"]
