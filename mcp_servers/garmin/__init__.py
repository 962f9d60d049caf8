"""Garmin Connect: the owner's watch data, synced hourly into the local encrypted store."""
