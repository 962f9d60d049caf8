"""The pairing QR code for the console: the bridge's ``qr`` string drawn as inline SVG.

The string is WhatsApp's own (it rotates about every 20 s; fetch :meth:`WhatsAppClient.pairing`
again and redraw). It links a device to the owner's account, so it is shown only behind the
owner's login and never logged.
"""

from __future__ import annotations

import segno

MAX_QR = 1024


def qr_svg(qr: str, *, scale: int = 5) -> str:
    """Inline ``<svg>`` of ``qr`` with a quiet zone, dark on light, for the integrations page."""
    if not isinstance(qr, str) or not qr or len(qr) > MAX_QR:
        raise ValueError("not a WhatsApp pairing string")
    return str(segno.make(qr, error="l").svg_inline(scale=scale, border=4, dark="#000", light="#fff"))
