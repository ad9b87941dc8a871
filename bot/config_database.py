"""`database:` in config.yaml: where the bot keeps everything, SQLite by default.

The URL is checked when the config is read: an empty or malformed one (docs/deploy.md leaves
`url: ""` for TUANBOT_DATABASE_URL, which a service file may fail to set) is named as a config
key with what to write, not left to SQLAlchemy's traceback when the engine is made.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["DatabaseSettings"]


class DatabaseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "sqlite:///data/tuanbot.db"
    busy_timeout_ms: int = Field(default=5000, ge=0)
    # SQLite: the inbound log and bookkeeping, and the outbox's queued rows, are written by
    # processes of their own (bot/storage/sql_child.py), off the bot's interpreter lock; false
    # writes them from threads.
    writer_process: bool = True

    @field_validator("url")
    @classmethod
    def _a_url(cls, url: str) -> str:
        try:
            make_url(url)
        except ArgumentError:
            raise ValueError(
                f"{url!r} is not a database URL; write one here or set TUANBOT_DATABASE_URL "
                "(sqlite:///data/tuanbot.db, or postgresql+psycopg2://user:password@host/db)"
            ) from None
        return url
