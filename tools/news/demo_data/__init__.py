"""The demo source set: articles and events dated around today."""
