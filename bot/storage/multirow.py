"""A run of one INSERT statement as multi-row INSERTs on SQLite: one step per chunk of rows.

Why: `executemany` steps SQLite once per row, and gives up the interpreter lock for each step;
with the event loop busy, getting the lock back, not the insert, was the write-behind writer's
time (66 µs a row against 14 µs of CPU), and all of it spent holding the process's write gate
that the order writer waits at (docs/performance.md). A multi-row INSERT runs a chunk of rows in
one step: one wait for the lock per chunk. The statements are made before the transaction.

Same rows, same order, same conflict clauses: SQLite applies the rows of a multi-row INSERT one
after another, as `executemany` would. Only on SQLite (PostgreSQL refuses an upsert that touches
a row twice in one statement, and has no write gate to hold), and only for plain INSERTs whose
values all come from the rows (no Python-side column defaults); otherwise `prepare` says None
and the caller runs `executemany`.

`updates_by_key` does the same for a run of UPDATEs that each set some columns of one row found by
its key (the outbox's newer texts and status marks): one `UPDATE … FROM (VALUES …)` per chunk,
joined on the key. Only when no key repeats in the run (a row updated twice in one statement
would take either value), which the callers' runs guarantee and the function checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.dml import Insert, UpdateBase

from bot.storage.tables import bind_processor

CHUNKS = (1024, 256, 64, 16)  # rows per statement, largest first (SQLite takes 32,766 parameters)
_COMPILED_UP_TO = 3  # larger plans repeat the second row of these (`MultiRowInserts._repeated`)
_ROW = 0
_CONSTANT = 1

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Slot:
    """One `?` of the statement: row `row`'s value of `key` (through `process`), or a constant."""

    kind: int
    row: int = 0
    index: int = 0  # the key's place in the rows' values
    process: Processor = None
    value: Any = None


@dataclass(frozen=True, slots=True)
class _Plan:
    sql: str
    slots: tuple[_Slot, ...]

    def params(self, rows: Sequence[Sequence[Any]]) -> tuple[Any, ...]:
        """The statement's parameters from `rows`, each its values in the plan's key order."""
        out: list[Any] = []
        for slot in self.slots:
            if slot.kind == _CONSTANT:
                out.append(slot.value)
            else:
                value = rows[slot.row][slot.index]
                out.append(value if slot.process is None else slot.process(value))
        return tuple(out)


class MultiRowInserts:
    """Compiled multi-row forms of the INSERTs one writer runs, made on first use."""

    def __init__(self) -> None:
        self._plans: dict[tuple[int, tuple[str, ...], int], tuple[Executable, _Plan | None]] = {}

    def prepare(
        self, dialect: Dialect, statement: Executable, rows: Sequence[Mapping[str, Any]]
    ) -> list[tuple[str, tuple[Any, ...]]] | None:
        """`rows` as (SQL, parameters) multi-row INSERTs, built before the transaction (the less
        a writer does holding the write gate, the sooner the order writer gets it); None when
        the statement does not qualify (see the module's docstring): run it with executemany.
        Fewer rows than the smallest chunk go as one statement of their own size."""
        if len(rows) < 2:
            return None
        keys = tuple(rows[0])
        if any(tuple(row) != keys for row in rows):
            return None
        return self.prepare_values(dialect, statement, keys, [tuple(row.values()) for row in rows])

    def prepare_values(
        self, dialect: Dialect, statement: Executable, keys: tuple[str, ...], rows: Sequence[Sequence[Any]]
    ) -> list[tuple[str, tuple[Any, ...]]] | None:
        """`prepare` for rows given as their values in `keys` order (the write-behind queue's form)."""
        if dialect.name != "sqlite" or not isinstance(statement, Insert) or len(rows) < 2:
            return None
        if self._plan(dialect, statement, keys, min(len(rows), CHUNKS[-1])) is None:
            return None  # the statement does not qualify (any size would say so)
        out: list[tuple[str, tuple[Any, ...]]] = []
        start = 0
        for size in (*CHUNKS, *range(CHUNKS[-1] - 1, 0, -1)):
            while len(rows) - start >= size:
                plan = self._plan(dialect, statement, keys, size)
                assert plan is not None
                out.append((plan.sql, plan.params(rows[start : start + size])))
                start += size
        return out

    def driver_form(
        self, dialect: Dialect, statement: Executable, keys: tuple[str, ...], rows: Sequence[Sequence[Any]]
    ) -> list[tuple[str, tuple[Any, ...]]] | None:
        """`rows` (their values in `keys` order) as (SQL, parameters) items the driver runs as
        they are, for a writer that hands its SQL to another process (bot/storage/sql_child.py):
        an INSERT multi-row (one row too), any other statement one item a row; None if the
        statement does not qualify."""
        if dialect.name != "sqlite" or not rows:
            return None
        if isinstance(statement, Insert):
            if len(rows) > 1:
                return self.prepare_values(dialect, statement, keys, rows)
            plan = self._plan(dialect, statement, keys, 1)
            return None if plan is None else [(plan.sql, plan.params(rows))]
        plan = self._plan(dialect, statement, keys, 1)
        if plan is None:
            return None
        return [(plan.sql, plan.params([row])) for row in rows]

    def run(self, conn: Connection, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert `rows` inside the caller's transaction: multi-row where `prepare` allows,
        else one executemany."""
        chunks = self.prepare(conn.dialect, statement, rows)
        if chunks is None:
            conn.execute(statement, list(rows))
            return
        for sql, params in chunks:
            conn.exec_driver_sql(sql, params)

    def _plan(
        self, dialect: Dialect, statement: Executable, keys: tuple[str, ...], size: int
    ) -> _Plan | None:
        cache_key = (id(statement), keys, size)
        cached = self._plans.get(cache_key)
        if cached is not None and cached[0] is statement:
            return cached[1]
        plan = self._repeated(dialect, statement, keys, size) if size > _COMPILED_UP_TO else None
        if plan is None:
            plan = _compile(dialect, statement, keys, size)
        self._plans[cache_key] = (statement, plan)
        return plan

    def _repeated(
        self, dialect: Dialect, statement: Executable, keys: tuple[str, ...], size: int
    ) -> _Plan | None:
        """The plan for `size` rows made from the compiled plans for one and two rows (the second
        row's text and slots repeated), when that gives exactly the compiled plan for three rows;
        else None (compile it). Why: SQLAlchemy's compiler took 0.1–0.25 s of the interpreter for a
        256- or 1,024-row INSERT, made on first use, which is a writer's first big batch: the flood
        at T-0, often right after a restart, when the event loop has the least to spare."""
        one, two, three = (self._plan(dialect, statement, keys, n) for n in range(1, _COMPILED_UP_TO + 1))
        if one is None or two is None or three is None:
            return None
        grown = _repeat(one, two, _COMPILED_UP_TO)
        if (
            grown is None
            or grown.sql != three.sql
            or list(map(_shape, grown.slots)) != list(map(_shape, three.slots))
        ):
            return None
        return _repeat(one, two, size)


def _repeat(one: _Plan, two: _Plan, size: int) -> _Plan | None:
    """`size` rows' plan from one row's and two rows' (see `_repeated`): the text two rows add to
    one is the second row's tuple (``, (?, ?, …)``), and its slots are the second row's; rows
    2..size-1 repeat them, each slot moved to its row."""
    lead = _common_prefix(one.sql, two.sql)
    grown = len(two.sql) - len(one.sql)
    row_text = two.sql[lead : lead + grown]
    if grown <= 0 or two.sql[lead + grown :] != one.sql[lead:]:
        return None
    before, per_row = one.sql[:lead].count("?"), row_text.count("?")
    if len(two.slots) != len(one.slots) + per_row:
        return None
    second = two.slots[before : before + per_row]
    rows = [
        _Slot(_ROW, row=slot.row + shift, index=slot.index, process=slot.process)
        if slot.kind == _ROW
        else slot
        for shift in range(size - 1)
        for slot in second
    ]
    sql = one.sql[:lead] + row_text * (size - 1) + one.sql[lead:]
    return _Plan(sql, (*one.slots[:before], *rows, *one.slots[before:]))


def _common_prefix(a: str, b: str) -> int:
    for n, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return n
    return min(len(a), len(b))


def _shape(slot: _Slot) -> tuple[Any, ...]:
    """A slot as two compiles of the same statement agree on it: some types' bind processors
    (Boolean's) are a new function each compile, the same code."""
    code = getattr(slot.process, "__code__", slot.process)
    return (slot.kind, slot.row, slot.index, code, slot.value)


def _compile(dialect: Dialect, statement: Executable, keys: tuple[str, ...], size: int) -> _Plan | None:
    if isinstance(statement, Insert):
        names = {f"{key}__row{n}": (n, key) for n in range(size) for key in keys}
        columns = statement.table.c
        # A column's scalar Python-side default, as the statement's constant (SQLAlchemy would
        # fetch it per row before the INSERT, which a multi-row VALUES cannot do).
        defaults = {
            column.key: bindparam(None, column.default.arg, type_=column.type)  # type: ignore[attr-defined]
            for column in columns
            if column.key not in keys and column.default is not None and column.default.is_scalar
        }
        # Typed here: SQLAlchemy types a multi-row VALUES' first row from the columns, not the rest.
        values = [
            {key: bindparam(f"{key}__row{n}", type_=columns[key].type) for key in keys} | defaults
            for n in range(size)
        ]
        compiled = statement.values(values).compile(dialect=dialect)
    elif isinstance(statement, UpdateBase) and size == 1:
        names = {key: (0, key) for key in keys}  # an UPDATE or DELETE whose parameters are named
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    else:
        return None
    if (
        compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.positiontup is None
        or statement._returning
    ):
        return None  # Python-side defaults, named parameters or RETURNING: not for this path
    slots = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        process = bind_processor(bind.type, dialect)
        if name in names:
            row, key = names[name]
            slots.append(_Slot(_ROW, row=row, index=keys.index(key), process=process))
        elif bind.required:
            return None  # a parameter the rows do not give: let SQLAlchemy say so
        else:
            value = bind.effective_value
            slots.append(_Slot(_CONSTANT, value=value if process is None else process(value)))
    return _Plan(compiled.string, tuple(slots))


def execute_prepared(conn: Connection, statement: str | Executable, params: Any) -> Any:
    """Run one (statement, parameters) item a writer built before its transaction: driver SQL
    (`prepare`, `updates_by_key`) as it is, a SQLAlchemy statement through the engine (parameters
    None: the statement carries its own). Its result, for the row count."""
    if isinstance(statement, str):
        return conn.exec_driver_sql(statement, params)
    return conn.execute(statement) if params is None else conn.execute(statement, params)


def updates_by_key(
    dialect: Dialect,
    table: Table,
    key: str,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    conditions: Sequence[tuple[str, Any]] = (),
) -> list[tuple[str, tuple[Any, ...]]] | None:
    """UPDATE `table` SET `columns` from each row WHERE `key` = the row's `key` (and each
    `conditions` column = its value), as (SQL, parameters) chunks; None when it does not apply
    (not SQLite, fewer than two rows, or a key repeated): run it with executemany."""
    if dialect.name != "sqlite" or len(rows) < 2 or len({row[key] for row in rows}) < len(rows):
        return None
    quote = dialect.identifier_preparer.quote
    name = quote(table.name)
    order = (key, *columns)
    processes = [bind_processor(table.c[column].type, dialect) for column in order]
    settings = ", ".join(f"{quote(column)} = v.column{n}" for n, column in enumerate(columns, start=2))
    where = "".join(f" AND {name}.{quote(column)} = ?" for column, _ in conditions)
    constants = tuple(value for _, value in conditions)
    one = f"({', '.join('?' * len(order))})"
    out: list[tuple[str, tuple[Any, ...]]] = []
    for start in range(0, len(rows), CHUNKS[0]):  # each its own size: SQLite parses it once either way
        chunk = rows[start : start + CHUNKS[0]]
        params: list[Any] = []
        for row in chunk:
            for column, process in zip(order, processes, strict=True):
                value = row[column]
                params.append(value if process is None else process(value))
        sql = (
            f"UPDATE {name} SET {settings} FROM (VALUES {', '.join([one] * len(chunk))}) AS v"
            f" WHERE {name}.{quote(key)} = v.column1{where}"
        )
        out.append((sql, (*params, *constants)))
    return out


__all__ = ["CHUNKS", "MultiRowInserts", "execute_prepared", "updates_by_key"]
