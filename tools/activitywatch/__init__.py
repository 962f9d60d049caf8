"""ActivityWatch: the local REST client and the demo device."""
