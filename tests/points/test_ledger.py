"""The points ledger: idempotent awards, balance = sum of the ledger, never below zero under
concurrent debits (threads and processes, SQLite and PostgreSQL)."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.storage.engine import init_db, make_engine
from handlers.points.ledger import PointsLedger
from handlers.points.tables import BALANCES, CHECKINS, LEDGER

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'p.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    made = make_engine(url)
    init_db(made, [LEDGER, BALANCES, CHECKINS])
    yield made
    made.dispose()


def ledger_sum(engine: Engine, member_id: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.coalesce(func.sum(LEDGER.c.points), 0)).where(LEDGER.c.member_id == member_id)
            ).scalar_one()
        )


def rows(engine: Engine, member_id: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(LEDGER.c.member_id == member_id)).scalar_one())


def test_an_award_is_credited_once_and_a_refused_debit_writes_nothing(engine: Engine) -> None:
    ledger = PointsLedger(engine)
    assert ledger.balance("alice") == 0
    assert ledger.credit("alice", 30, "order", "t1@g1", now=NOW, campaign_id="t1", group_id="g1")
    assert not ledger.credit("alice", 30, "order", "t1@g1", now=NOW, campaign_id="t1", group_id="g1")
    assert ledger.credit("alice", 5, "checkin", "2026-12-05", now=NOW)
    assert ledger.credit("bob", 5, "checkin", "2026-12-05", now=NOW)  # the key is per member
    assert ledger.balance("alice") == 35 and rows(engine, "alice") == 2
    assert not ledger.debit("alice", 36, "redeem", "o1", now=NOW)  # would go below zero
    assert rows(engine, "alice") == 2 and ledger.balance("alice") == 35
    assert ledger.debit("alice", 35, "redeem", "o1", now=NOW)
    assert not ledger.debit("alice", 1, "redeem", "o2", now=NOW)  # nothing left
    ledger.credit("alice", 10, "lottery", "draw-1", now=NOW)
    assert not ledger.debit("alice", 1, "redeem", "o1", now=NOW)  # the ref was used
    assert ledger.balance("alice") == 10 == ledger_sum(engine, "alice")
    newest = ledger.entries("alice", limit=2)
    assert [(e.reason, e.points) for e in newest] == [("lottery", 10), ("redeem", -35)]
    assert ledger.awarded("order", "t1") == {"alice": 30}


def test_credits_in_a_callers_transaction_roll_back_with_it(engine: Engine) -> None:
    ledger = PointsLedger(engine)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        assert ledger.credit_in(conn, "alice", 50, "lottery", "draw-1", now=NOW)
        assert ledger.balance("alice", conn) == 50  # the transaction sees its own write
        raise RuntimeError("the draw failed after paying")
    assert ledger.balance("alice") == 0 and rows(engine, "alice") == 0
    with engine.begin() as conn:  # retried: paid now, once
        assert ledger.credit_in(conn, "alice", 50, "lottery", "draw-1", now=NOW)
        assert not ledger.debit_in(conn, "alice", 60, "redeem", "o1", now=NOW)
        assert ledger.debit_in(conn, "alice", 20, "redeem", "o1", now=NOW)
    assert ledger.balance("alice") == 30 == ledger_sum(engine, "alice")


@pytest.mark.parametrize("points", [0, -5, 1.5, True])
def test_a_credit_or_debit_is_a_positive_whole_number(tmp_path: Path, points: object) -> None:
    ledger = PointsLedger(make_engine(f"sqlite:///{tmp_path / 'p.db'}"))  # refused before any query
    with pytest.raises(ValueError, match="whole number"):
        ledger.credit("alice", points, "lottery", "x", now=NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="whole number"):
        ledger.debit("alice", points, "redeem", "x", now=NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reason and a ref"):
        ledger.credit("alice", 1, "lottery", "", now=NOW)


def test_many_threads_debiting_one_balance_never_take_it_below_zero(engine: Engine) -> None:
    ledger = PointsLedger(engine)
    start = 1_000
    ledger.credit("alice", start, "lottery", "seed", now=NOW)
    rng = random.Random(17)
    amounts = [rng.randint(1, 40) for _ in range(240)]  # about 5,000 asked of 1,000
    with ThreadPoolExecutor(max_workers=12) as pool:
        taken = list(
            pool.map(lambda i: ledger.debit("alice", amounts[i], "redeem", f"o{i}", now=NOW), range(240))
        )
    final = ledger.balance("alice")
    assert final >= 0
    assert sum(a for a, ok in zip(amounts, taken, strict=True) if ok) == start - final
    assert final < min(a for a, ok in zip(amounts, taken, strict=True) if not ok)  # refused: it did not fit
    assert ledger_sum(engine, "alice") == final
    assert rows(engine, "alice") == 1 + sum(taken)  # a refused debit left no row


def test_concurrent_credits_and_debits_keep_the_balance_equal_to_the_ledger(engine: Engine) -> None:
    ledger = PointsLedger(engine)
    rng = random.Random(5)
    jobs = [(rng.choice("cd"), rng.randint(1, 30), i) for i in range(300)]

    def run(job: tuple[str, int, int]) -> bool:
        kind, points, i = job
        if kind == "c":
            return ledger.credit("alice", points, "checkin", f"d{i}", now=NOW)
        return ledger.debit("alice", points, "redeem", f"o{i}", now=NOW)

    with ThreadPoolExecutor(max_workers=12) as pool:
        done = list(pool.map(run, jobs))
    credited = sum(p for (k, p, _), ok in zip(jobs, done, strict=True) if k == "c" and ok)
    debited = sum(p for (k, p, _), ok in zip(jobs, done, strict=True) if k == "d" and ok)
    assert credited == sum(p for k, p, _ in jobs if k == "c")  # a credit always succeeds
    assert ledger.balance("alice") == credited - debited == ledger_sum(engine, "alice") >= 0


DEBITS_IN_A_PROCESS = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from bot.storage.engine import make_engine
    from handlers.points.ledger import PointsLedger
    url, tag = sys.argv[1], sys.argv[2]
    ledger = PointsLedger(make_engine(url))
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    taken = [ledger.debit("alice", 7, "redeem", f"{tag}-{i}", now=now) for i in range(40)]
    print(sum(taken))
    """
)


def test_processes_debiting_one_sqlite_balance_never_take_it_below_zero(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    engine = make_engine(url)
    init_db(engine, [LEDGER, BALANCES, CHECKINS])
    ledger = PointsLedger(engine)
    ledger.credit("alice", 500, "lottery", "seed", now=NOW)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", DEBITS_IN_A_PROCESS, url, f"p{n}"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    taken = [int(p.communicate(timeout=120)[0].strip()) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(taken) == 500 // 7  # 120 asked for, 71 fit
    assert ledger.balance("alice") == 500 - 7 * sum(taken) == ledger_sum(engine, "alice")
    engine.dispose()
