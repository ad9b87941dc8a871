"""Naming a failure for admins and the log: what failed (the database, the system) and its gist.

Shared by everything that writes (the outbox, the inbound write-behind, the trouble desk), so it
lives at the bottom, beside the storage it mostly describes.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import SQLAlchemyError


def classify(exc: BaseException) -> str:
    """A short, stable name for what failed, for the admins' notice and the log."""
    if isinstance(exc, SQLAlchemyError | sqlite3.Error):
        return "database"
    if isinstance(exc, OSError):
        return "system"
    return "internal"


def describe(exc: BaseException) -> str:
    """The exception's first line, bounded: admins get the gist, the log has the traceback."""
    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else ""
    return f"{type(exc).__name__}: {first}"[:200]
