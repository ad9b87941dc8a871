"""Columns added to existing tables: the one kind of schema change a release makes in place.

`create_all` makes missing tables but never touches an existing one, so a database made by an
older release lacks a newer column (`outbox.account`) and every statement naming it fails.
Each new column declares a server default, so adding it to existing rows is one
`ALTER TABLE ... ADD COLUMN ... DEFAULT ...` with nothing to back-fill; anything more (a
renamed or retyped column) would need a real migration tool, and no release has needed one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from loguru import logger
from sqlalchemy import Table, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateColumn

SCHEMA_LOCK_KEY = 0x7475_616E_626F_7402  # any fixed 64-bit number: "tuanbot\x02"


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Hold PostgreSQL's advisory lock while making or altering tables: two processes creating
    one table at once collide in the catalogue (`pg_type_typname_nsp_index`), and the loser
    would stop. On SQLite there is one process and the file lock serialises DDL anyway."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": SCHEMA_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": SCHEMA_LOCK_KEY})
            conn.commit()


def add_missing_columns(engine: Engine, tables: list[Table]) -> list[str]:
    """Add every declared column and index an existing table lacks; what was added."""
    inspector = inspect(engine)
    existing_tables = set(inspector.get_table_names())
    added: list[str] = []
    for table in tables:
        if table.name not in existing_tables:
            continue  # create_all makes it whole
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if column.server_default is None and not column.nullable:
                raise RuntimeError(
                    f"{table.name}.{column.name} is new and has no server default: "
                    "existing rows cannot get it; give the column a server_default"
                )
            ddl = CreateColumn(column).compile(dialect=engine.dialect)
            with engine.begin() as conn:
                conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN {ddl}'))
            added.append(f"{table.name}.{column.name}")
        indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(engine, checkfirst=True)
                added.append(f"{table.name}: index {index.name}")
    if added:
        logger.info("database: added column(s) {} to tables made by an older release", ", ".join(added))
    return added
