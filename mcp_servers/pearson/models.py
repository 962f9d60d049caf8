"""Coursework read from Pearson Mastering's pages, encrypted under the ``coursework`` data-key domain
(tables ``pearson_*``: see :mod:`mcp_servers._coursework_schema`)."""

from __future__ import annotations

from mcp_servers._coursework import encrypted
from mcp_servers._coursework_schema import lms_tables
from storage.models.base import Base

TABLES = lms_tables("pearson", Base.metadata, notices=False)
ENCRYPTED = encrypted(TABLES, "coursework")
