"""The write-behind writer's runs of one INSERT go as multi-row INSERTs on SQLite (bot/storage/multirow.py).

Why it matters: each SQLite step gives up the interpreter lock, and a writer that must get it
back once per row, with the event loop busy, held the write gate for 60-110 ms a batch while the
order writer waited (docs/performance.md). The rows written must be exactly those `executemany`
writes, in the same order, with the same conflict handling.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text, update
from sqlalchemy.engine import Engine

from bot.storage.bookkeeping import Bookkeeping
from bot.storage.engine import init_db, make_engine
from bot.storage.multirow import CHUNKS, MultiRowInserts
from bot.storage.rowops import RowOp
from bot.storage.tables import MemberRow
from bot.storage.writebehind import WriteBehind
from handlers.faq.store import unanswered_row

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
TABLES = ("inbound_messages", "members", "memberships", "groups", "engagement_faq_unanswered")


def _engine(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    return engine


def _dump(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY 1, 2"))] for t in TABLES}


def _chatter(rows: Bookkeeping, n: int, seed: int) -> list[RowOp]:
    """A day's bookkeeping in a busy group set: redelivered ids, renames (and blank names, which
    keep the old one), members in several groups, a join and a leave, unanswered questions."""
    rng = random.Random(seed)
    ops: list[RowOp] = []
    for i in range(n):
        at = T0 + timedelta(seconds=i)
        member, group = f"u{rng.randrange(300)}", f"g{rng.randrange(20)}"
        message_id = f"m{rng.randrange(n)}" if rng.random() < 0.05 else f"m{i}"  # some redelivered
        ops.append(rows.inbound(message_id, "group", group, member, f"第{i}条", at))
        name = rng.choice(["阿丽", "小波", "", "王姐🌸", f"成员{i}"])
        ops += rows.touch_member(group, member, name, at)
        if rng.random() < 0.1:
            ops.append(rows.touch_group(group, rng.choice(["团购一群", "", "二群"]), at))
        if rng.random() < 0.05:
            ops.append(unanswered_row(group, member, name, "能开发票吗", at))
        if i == n // 2:
            ops += rows.join(group, "newbie", "新人", at)
            ops.append(rows.leave(group, "newbie", at + timedelta(seconds=1)))
    return ops


def _executemany(engine: Engine, ops: list[RowOp]) -> None:
    """What the writer did before: one executemany per statement, in the same order."""
    from itertools import groupby

    from bot.storage.rowops import commit_order, statement_of

    entries = [(n, op, None, op.rank) for n, op in enumerate(ops)]  # each op kept whole in its entry
    with engine.begin() as conn:
        for _, group in groupby(commit_order(entries), key=statement_of):
            run = [entry[1] for entry in group]
            conn.execute(run[0].statement, [op.params for op in run])  # type: ignore[union-attr]


@pytest.mark.parametrize("in_process", [False, True], ids=["thread", "sql-process"])
def test_the_rows_written_are_those_executemany_writes(tmp_path: Path, in_process: bool) -> None:
    for seed, size in ((1, 3), (2, 40), (3, 1_500)):
        multi, plain = _engine(tmp_path / f"multi{seed}.db"), _engine(tmp_path / f"plain{seed}.db")
        writer = WriteBehind(multi, max_batch=5_000, linger=0.2, in_process=in_process)
        ops = _chatter(Bookkeeping(multi), size, seed)
        writer.put(*ops)
        assert writer.flush()
        assert writer.stats.dropped == 0
        _executemany(plain, _chatter(Bookkeeping(plain), size, seed))
        assert _dump(multi) == _dump(plain), f"seed {seed}"


def test_a_batch_of_rows_is_a_handful_of_statements(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "t.db")
    steps: list[str] = []

    @event.listens_for(engine, "connect")
    def trace(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.set_trace_callback(steps.append)  # type: ignore[attr-defined]

    engine.dispose()  # the next connection is traced
    rows, writer = Bookkeeping(engine), WriteBehind(engine, max_batch=5_000, linger=0.2)
    ops: list[RowOp] = []
    for i in range(1_000):
        ops.append(rows.inbound(f"m{i}", "group", "g1", f"u{i}", "收到", T0))
        ops += rows.touch_member("g1", f"u{i}", f"成员{i}", T0)
        if i % 7 == 0:
            ops.append(unanswered_row("g1", f"u{i}", f"成员{i}", "能开发票吗", T0))  # does not split the runs
    writer.put(*ops)  # one batch, whatever the machine's speed
    assert writer.flush()
    assert writer.stats.batches == 1
    inserts = [s for s in steps if s.lstrip().upper().startswith("INSERT")]
    # 3,143 rows of four tables; executemany steps once per row. 1,000 rows: 3x256 + 3x64 + 2x16 + 8
    # (9 statements), for each of three tables; 143 questions: 2x64 + 15 (3).
    assert len(inserts) == 3 * 9 + 3, len(inserts)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM inbound_messages")).scalar() == 1_000
        assert conn.execute(text("SELECT count(*) FROM memberships")).scalar() == 1_000


def test_only_plain_inserts_on_sqlite_qualify(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "t.db")
    rows, multi = Bookkeeping(engine), MultiRowInserts()
    inbound = [rows.inbound(f"m{i}", "group", "g", "u", "x", T0) for i in range(CHUNKS[-1] + 3)]
    params = [op.params for op in inbound]
    prepared = multi.prepare(engine.dialect, inbound[0].statement, params)
    assert prepared is not None and len(prepared) == 2  # a chunk of 16, then one of 3
    assert multi.prepare(engine.dialect, inbound[0].statement, params[:1]) is None  # one row: as it is
    mixed = [*params[:2], {"message_id": "m9", "kind": "group"}]
    assert multi.prepare(engine.dialect, inbound[0].statement, mixed) is None  # rows of other shapes
    rename = update(MemberRow).values(name="x")
    assert multi.prepare(engine.dialect, rename, [{"id": "a"}, {"id": "b"}]) is None
    from sqlalchemy.dialects import postgresql

    assert multi.prepare(postgresql.dialect(), inbound[0].statement, params) is None


def _outbox_ops(seed: int, count: int) -> list[tuple[str, int, dict[str, object]]]:
    """A busy outbox's owed writes: new rows, newer texts, sending and sent marks, cancels."""
    from bot.storage.outbox_log import QUEUED_DEFAULTS, status_values

    rng = random.Random(seed)
    ops: list[tuple[str, int, dict[str, object]]] = []
    made: list[int] = []
    for n in range(count):
        roll = rng.random()
        if roll < 0.4 or not made:
            row_id = len(made) + 1
            made.append(row_id)
            row = {**QUEUED_DEFAULTS, "created_at": T0, "not_before": None, "group_id": f"g{n % 5}",
                   "member_id": "", "text": f"第{n}条", "mentions": "", "priority": 3, "kind": "notice",
                   "replace_key": "", "account": "", "claimed": True, "id": row_id}  # fmt: skip
            ops.append(("insert", row_id, row))
        elif roll < 0.7:
            ops.append(("text", rng.choice(made), {"text": f"更新{n}", "mentions": "m1"}))
        elif roll < 0.8:
            ops.append(("status", rng.choice(made), status_values("sending")))
        elif roll < 0.95:
            sent = status_values("sent", sent_at=T0 + timedelta(seconds=n), attempts=1)
            ops.append(("status", rng.choice(made), sent))
        else:
            ops.append(("cancel", 0, {"ids": rng.sample(made, min(3, len(made)))}))
    return ops


def test_the_outbox_rows_written_are_those_executemany_writes(tmp_path: Path, monkeypatch: Any) -> None:
    """Multi-row INSERTs and UPDATE … FROM (VALUES …) leave the outbox as one statement a row
    does: runs where a row id repeats, cancels between texts, datetimes typed as the column's."""
    import bot.storage.outbox_log as outbox_log

    def dump(engine: Engine) -> list[tuple[object, ...]]:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT * FROM outbox ORDER BY id"))]

    for seed in (1, 2, 3):
        ops = _outbox_ops(seed, 3_000)
        multi, plain = _engine(tmp_path / f"om{seed}.db"), _engine(tmp_path / f"op{seed}.db")
        with multi.begin() as conn:
            outbox_log.apply_ops(conn, ops)
        with monkeypatch.context() as patched:
            patched.setattr(outbox_log, "updates_by_key", lambda *_args, **_kw: None)
            patched.setattr(outbox_log._INSERTS, "prepare", lambda *_args, **_kw: None)
            with plain.begin() as conn:
                outbox_log.apply_ops(conn, ops)
        assert dump(multi) == dump(plain), f"seed {seed}"
        assert any(row[8] == "sent" for row in dump(multi))


def test_a_utc_datetime_binds_to_the_text_sqlalchemy_writes(tmp_path: Path) -> None:
    """The writers' plans bind `UTCDateTime` values in one call (`utc_sqlite_text`), not through
    SQLAlchemy's chain of four: the text must be the chain's, for any zone and instant."""
    from zoneinfo import ZoneInfo

    from bot.storage.tables import UTCDateTime, utc_sqlite_text

    dialect = _engine(tmp_path / "t.db").dialect
    chain = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert chain is not None
    rng = random.Random(5)
    zones = [UTC, ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York"), ZoneInfo("UTC")]
    for _ in range(2_000):
        naive = datetime(rng.randrange(1, 9999), rng.randrange(1, 13), rng.randrange(1, 29))
        naive += timedelta(seconds=rng.randrange(86_400), microseconds=rng.choice([0, rng.randrange(10**6)]))
        value = naive.replace(tzinfo=rng.choice(zones), fold=rng.randrange(2))
        try:
            expected = chain(value)
        except OverflowError:  # the year 1 or 9999 shifted out of range: the same for both
            with pytest.raises(OverflowError):
                utc_sqlite_text(value)
            continue
        assert utc_sqlite_text(value) == expected, value
    assert utc_sqlite_text(None) is None and chain(None) is None
    for bind in (chain, utc_sqlite_text):
        with pytest.raises(ValueError, match="naive"):
            bind(datetime(2026, 12, 5, 12, 0))


def _statements(engine: Engine) -> list[tuple[Any, tuple[str, ...]]]:
    """The multi-row INSERTs the writers run, each with its rows' keys: the inbound log, the
    bookkeeping upserts (ON CONFLICT … DO UPDATE with a WHERE), the orders, the outbox's rows."""
    from bot.storage.outbox_log import INSERT, QUEUED_DEFAULTS
    from handlers.selling.batch import _INSERT_ORDERS

    rows = Bookkeeping(engine)
    ops = [rows.inbound("m1", "group", "g", "u", "x", T0), *rows.touch_member("g", "u", "阿丽", T0)]
    ops += [rows.touch_group("g", "团购一群", T0), *rows.join("g", "u", "阿丽", T0)]
    out = [(op.statement, tuple(op.params)) for op in ops if op.params is not None]
    order = ("campaign_id", "group_id", "member_id", "member_name", "product_code", "quantity")
    out.append((_INSERT_ORDERS, (*order, "unit_price_cents", "status", "created_at")))
    outbox = (*QUEUED_DEFAULTS, "created_at", "not_before", "group_id", "member_id", "text", "id")
    out.append((INSERT, outbox))
    return out


def test_a_plan_of_any_size_is_the_one_sqlalchemy_compiles(tmp_path: Path) -> None:
    from bot.storage import multirow
    from bot.storage.multirow import _shape

    engine = _engine(tmp_path / "t.db")
    statements = _statements(engine)
    assert len(statements) >= 6
    for statement, keys in statements:
        plans = MultiRowInserts()
        repeated = plans._repeated(engine.dialect, statement, keys, 64)  # derived, not compiled
        assert repeated is not None, str(statement)
        for size in (1, 2, 3, 4, 5, 15, 16, 17, 64, 256, 1024):
            made = plans._plan(engine.dialect, statement, keys, size)
            compiled = multirow._compile(engine.dialect, statement, keys, size)
            assert made is not None and compiled is not None, (statement, size)
            assert made.sql == compiled.sql, (str(statement), size)
            assert list(map(_shape, made.slots)) == list(map(_shape, compiled.slots)), (str(statement), size)


def test_the_first_flood_compiles_three_small_statements_not_one_a_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer's first big batch (the flood at T-0, often right after a restart) made each chunk
    size's statement with SQLAlchemy's compiler: 0.1–0.25 s of the interpreter for a 256- or
    1024-row INSERT, taken from the event loop in the busiest second of a sale."""
    from bot.storage import multirow

    engine = _engine(tmp_path / "t.db")
    compiled: list[int] = []
    real = multirow._compile

    def counting(dialect: Any, statement: Any, keys: tuple[str, ...], size: int) -> Any:
        compiled.append(size)
        return real(dialect, statement, keys, size)

    monkeypatch.setattr(multirow, "_compile", counting)
    rows = Bookkeeping(engine)
    inbound = [rows.inbound(f"m{i}", "group", "g", "u", "x", T0) for i in range(1_500)]
    keys = tuple(inbound[0].params or ())
    values = [tuple((op.params or {}).values()) for op in inbound]
    prepared = MultiRowInserts().prepare_values(engine.dialect, inbound[0].statement, keys, values)
    assert prepared is not None and sum(len(params) for _, params in prepared) == 1_500 * len(keys)
    assert sorted(compiled) == [1, 2, 3]
