"""Coursework synced from Blackboard Learn, encrypted under the ``coursework`` data-key domain
(tables ``blackboard_*``: see :mod:`mcp_servers._coursework_schema`)."""

from __future__ import annotations

from mcp_servers._coursework import encrypted
from mcp_servers._coursework_schema import lms_tables
from storage.models.base import Base

TABLES = lms_tables("blackboard", Base.metadata, notices=True)
ENCRYPTED = encrypted(TABLES, "coursework")
