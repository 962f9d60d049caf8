"""Pearson MyLab & Mastering: no API, read through the browser with the owner's login."""
