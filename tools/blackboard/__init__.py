"""Blackboard Learn: the REST API (three-legged OAuth) or, without an application key, the browser."""
