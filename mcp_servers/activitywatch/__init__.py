"""The ActivityWatch integration server."""
