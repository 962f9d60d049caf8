"""Garmin Connect: the owner's watch data through our own small adapter over ``garminconnect``."""
