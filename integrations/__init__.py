"""Integrations as plug-ins: the installed list, the manifest schema and the catalog derived from it."""

from integrations.catalog import Catalog, JobMember, PlacedView, load_manifest
from integrations.manifest import Connect, Manifest, ManifestError, Tool, View

__all__ = [
    "Catalog",
    "Connect",
    "JobMember",
    "Manifest",
    "ManifestError",
    "PlacedView",
    "Tool",
    "View",
    "load_manifest",
]
