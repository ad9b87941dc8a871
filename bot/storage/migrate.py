"""Columns added to existing tables: the one kind of schema change a release makes in place.

`create_all` makes missing tables but never touches an existing one, so a database made by an
older release lacks a newer column (`outbox.account`) and every statement naming it fails.
Each new column declares a server default, so adding it to existing rows is one
`ALTER TABLE ... ADD COLUMN ... DEFAULT ...` with nothing to back-fill; anything more (a
renamed or retyped column) would need a real migration tool, and no release has needed one.
"""

from __future__ import annotations

from loguru import logger
from sqlalchemy import Table, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateColumn


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
