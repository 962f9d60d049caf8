"""Voice: end of turn, speech to text and text to speech behind ports, and the voice session."""
