"""The Canvas integration server."""
