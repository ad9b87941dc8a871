"""积分抵扣 at close under concurrency: closes of one member's groups racing each other and other
debits of the same balance, in threads and in processes, on SQLite and PostgreSQL. Each member is
debited once per campaign, the balance never goes below zero and always equals the ledger."""

from __future__ import annotations

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
from handlers.points.redeem import REASON, choose, settle_member
from handlers.points.tables import BALANCES, CHECKINS, LEDGER, REDEMPTIONS
from handlers.selling.pricing import Quote

NOW = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
MEMBERS = [f"m{i:02d}" for i in range(12)]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'p.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    made = make_engine(url)
    init_db(made, [LEDGER, BALANCES, CHECKINS, REDEMPTIONS])
    yield made
    made.dispose()


def wants(points: int) -> Quote:
    """A close's quote asking `points` points for as many fen (rate 100)."""
    return Quote((), points * 4, points_used=points, points_off_cents=points)


def settle(engine: Engine, member: str, group: str, points: int, rate: int = 100) -> int | None:
    with engine.begin() as conn:
        return settle_member(conn, PointsLedger(engine), member, "t1", group, wants(points), rate, NOW)


def check_books(engine: Engine, members: list[str]) -> dict[str, int]:
    """Per member: one redeem row at most, equal to the settled row; balance = ledger sum >= 0."""
    ledger = PointsLedger(engine)
    taken: dict[str, int] = {}
    with engine.connect() as conn:
        for member in members:
            debits = conn.execute(
                select(LEDGER.c.points).where(LEDGER.c.member_id == member, LEDGER.c.reason == REASON)
            ).all()
            row = conn.execute(select(REDEMPTIONS).where(REDEMPTIONS.c.member_id == member)).one()
            total = conn.execute(
                select(func.coalesce(func.sum(LEDGER.c.points), 0)).where(LEDGER.c.member_id == member)
            ).scalar_one()
            assert len(debits) <= 1 and row.settled
            assert row.points == -sum(p for (p,) in debits)
            assert ledger.balance(member) == int(total) >= 0
            taken[member] = row.points
    return taken


def test_a_settled_row_is_never_debited_again_and_a_short_balance_pays_what_it_can(engine: Engine) -> None:
    ledger = PointsLedger(engine)
    for member, balance in (("full", 1_000), ("short", 300), ("odd", 10), ("none", 0)):
        if balance:
            ledger.credit(member, balance, "lottery", "seed", now=NOW)
        choose(engine, member, "t1", True, NOW)
    choose(engine, "out", "t1", False, NOW)
    assert settle(engine, "full", "g1", 600) == 600
    assert settle(engine, "full", "g2", 600) is None  # another group's close: already settled
    assert settle(engine, "short", "g1", 600) == 300  # spent meanwhile: what is left
    assert settle(engine, "odd", "g1", 40, rate=30) == 10  # 10 points at 30/¥ pay 33 fen
    assert settle(engine, "none", "g1", 600) == 0  # nothing left: nothing taken, settled anyway
    assert settle(engine, "out", "g1", 600) is None  # opted out: never claimed
    assert check_books(engine, ["full", "short", "odd", "none"]) == {
        "full": 600,
        "short": 300,
        "odd": 10,
        "none": 0,
    }
    with engine.connect() as conn:
        offs: dict[str, int] = dict(
            conn.execute(select(REDEMPTIONS.c.member_id, REDEMPTIONS.c.off_cents)).all()
        )
    assert offs == {"full": 600, "short": 300, "odd": 33, "none": 0, "out": 0}
    assert choose(engine, "full", "t1", False, NOW).opted  # settled: opting out changes nothing
    assert ledger.balance("full") == 400 and ledger.balance("none") == 0


def test_racing_closes_and_other_debits_in_threads_debit_once_and_never_below_zero(engine: Engine) -> None:
    ledger = PointsLedger(engine)
    for member in MEMBERS:
        ledger.credit(member, 1_000, "lottery", "seed", now=NOW)
        choose(engine, member, "t1", True, NOW)
    jobs = [("close", m, f"g{k}") for m in MEMBERS for k in range(3)]
    jobs += [("spend", m, f"s{k}") for m in MEMBERS for k in range(2)]  # 600 + 2 × 300 > 1,000
    jobs.sort(key=lambda job: (job[2][-1], job[1]))  # interleave closes and spending

    def run(job: tuple[str, str, str]) -> int:
        kind, member, tag = job
        if kind == "close":
            return settle(engine, member, tag, 600) or 0
        return 300 if ledger.debit(member, 300, "spend", tag, now=NOW) else 0

    with ThreadPoolExecutor(max_workers=10) as pool:
        done = list(pool.map(run, jobs))
    taken = check_books(engine, MEMBERS)
    for member in MEMBERS:
        closes = [n for (kind, m, _), n in zip(jobs, done, strict=True) if kind == "close" and m == member]
        spent = sum(n for (kind, m, _), n in zip(jobs, done, strict=True) if kind == "spend" and m == member)
        assert sorted(closes)[:-1] == [0, 0] and max(closes) == taken[member]  # one close took it
        assert ledger.balance(member) == 1_000 - taken[member] - spent
        assert taken[member] in (600, 400)  # 400: both spends came first, the close took what was left


CLOSES_IN_A_PROCESS = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from bot.storage.engine import make_engine
    from handlers.points.ledger import PointsLedger
    from handlers.points.redeem import settle_member
    from handlers.selling.pricing import Quote
    url, tag = sys.argv[1], sys.argv[2]
    engine = make_engine(url)
    ledger = PointsLedger(engine)
    now = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)
    took = 0
    for i in range(12):
        member = f"m{i:02d}"
        with engine.begin() as conn:
            quote = Quote((), 2400, points_used=600, points_off_cents=600)
            took += settle_member(conn, ledger, member, "t1", tag, quote, 100, now) or 0
        took += 300 if ledger.debit(member, 300, "spend", tag, now=now) else 0
    print(took)
    """
)


def test_closes_in_three_processes_debit_each_member_once(url: str, engine: Engine) -> None:
    ledger = PointsLedger(engine)
    for member in MEMBERS:
        ledger.credit(member, 1_000, "lottery", "seed", now=NOW)
        choose(engine, member, "t1", True, NOW)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLOSES_IN_A_PROCESS, url, f"p{n}"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    took = [int(p.communicate(timeout=120)[0].strip().splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    taken = check_books(engine, MEMBERS)
    assert sum(took) == sum(1_000 - ledger.balance(m) for m in MEMBERS)  # every point taken is accounted
    assert all(points > 0 for points in taken.values())  # one close per member found points
