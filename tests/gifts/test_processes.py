"""Three writer processes at once, each with its own order store and the gift step, on one
database: exactly N gifts, numbered in the order the batches committed (SQLite and PostgreSQL).

Commit order is recorded by a probe step that runs after the gift step in every batch: it
raises a one-row clock (`UPDATE … SET n = n + 1`), whose lock, like the gift counter's, is held
until the commit, so the clock's ticks are the batches' commit order.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from itertools import pairwise
from pathlib import Path

import sqlalchemy as sa

from bot.campaign import parse_campaign
from bot.storage.engine import init_db, make_engine
from handlers.gifts.tables import ENTRIES, GIVEN
from handlers.selling.store import OrderStore
from tests.commerce.selling_kit import OPENS

ROOT = Path(__file__).resolve().parents[2]
FIRST = 100
GROUPS = [f"g{i}" for i in range(5)]
MEMBERS = [f"m{i:03d}" for i in range(500)]

WRITER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from datetime import UTC, datetime
    import sqlalchemy as sa
    from bot.storage.engine import make_engine
    from handlers.gifts.book import GiftBook, GiftTerms
    from handlers.points.ledger import PointsLedger
    from handlers.selling.ops import PlaceOrder
    from handlers.selling.store import OrderStore

    url, first, members, tag, barrier = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4], sys.argv[5]
    engine = make_engine(url)
    store = OrderStore(engine)
    book = GiftBook(PointsLedger(engine))
    terms = GiftTerms("s", first, "保温杯", points=20)
    store.extend(lambda conn, ops, results, now: book.apply(conn, ops, results, now, lambda cid: terms))

    def clock(conn, ops, results, now):
        tick = conn.execute(sa.text("UPDATE commit_clock SET n = n + 1 WHERE id = 1 RETURNING n")).scalar_one()
        rows = [{"tick": tick, "idx": i, "member": op.member_id, "proc": tag}
                for i, (op, r) in enumerate(zip(ops, results)) if r.filled]
        if rows:
            conn.execute(sa.text("INSERT INTO commit_log VALUES (:tick, :idx, :member, :proc)"), rows)

    store.extend(clock)
    now = datetime(2026, 12, 5, 12, 30, tzinfo=UTC)
    (Path(barrier) / tag).touch()  # ready: start together, so the batches interleave
    while len(list(Path(barrier).iterdir())) < 3:
        time.sleep(0.01)
    ops = [PlaceOrder("s", f"g{int(m[1:]) % 5}", m, m, (("A1", 1),), now) for m in members]
    results = []
    for start in range(0, len(ops), 10):
        results += store.apply(ops[start : start + 10], now)
    print(json.dumps(sum(1 for r in results if r.filled)))
    """
)


def test_three_writer_processes_give_exactly_the_first_100_commits_a_gift(
    db_url: str, tmp_path: Path
) -> None:
    barrier = tmp_path / "ready"
    barrier.mkdir()
    engine = make_engine(db_url)
    init_db(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE commit_clock (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        conn.execute(sa.text("INSERT INTO commit_clock (id, n) VALUES (1, 0)"))
        conn.execute(
            sa.text(
                "CREATE TABLE commit_log (tick INTEGER, idx INTEGER, member VARCHAR(20), proc VARCHAR(4))"
            )
        )
    campaign = parse_campaign(
        "id: s\ntitle: 测试\ngroups: [g0, g1, g2, g3, g4]\nopens_at: 2026-12-05 20:00\n"
        "closes_at: 2026-12-05 22:00\nproducts:\n  - {code: A1, name: 草莓, price: 10, stock: 1000}\n"
    )
    store = OrderStore(engine)
    store.ensure_stock(campaign, OPENS)
    for group in GROUPS:
        store.set_group_status("s", group, "open", OPENS)
    shares = [MEMBERS[k::3] for k in range(3)]  # every process orders for members of all five groups
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, db_url, str(FIRST), ",".join(share), f"p{k}", str(barrier)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for k, share in enumerate(shares)
    ]
    filled = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs) and sum(filled) == 500

    with engine.connect() as conn:
        log = conn.execute(sa.text("SELECT member FROM commit_log ORDER BY tick, idx")).scalars().all()
        gifts = conn.execute(
            sa.select(ENTRIES.c.member_id, ENTRIES.c.seq)
            .where(ENTRIES.c.campaign_id == "s", ENTRIES.c.status == GIVEN)
            .order_by(ENTRIES.c.seq)
        ).all()
        ticks = conn.execute(sa.text("SELECT count(DISTINCT tick) FROM commit_log")).scalar_one()
        procs_by_tick = conn.execute(
            sa.text("SELECT DISTINCT tick, proc FROM commit_log ORDER BY tick")
        ).all()
    switches = sum(1 for a, b in pairwise(procs_by_tick) if a[1] != b[1])
    engine.dispose()
    assert len(log) == 500 and ticks >= 50  # every order, in batches that committed one after another
    assert switches >= 3  # the processes' batches really interleaved
    assert [seq for _, seq in gifts] == list(range(1, FIRST + 1))
    assert [member for member, _ in gifts] == log[:FIRST]  # the first 100 commits, numbered in order
