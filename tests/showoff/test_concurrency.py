"""Exactly N rewards under concurrency, on SQLite and PostgreSQL: many buyers' pictures at once,
each twice, seen by two processes' engines; every buyer counts once, ranks 1..N follow commits."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.campaign.active import campaigns_in_group
from bot.storage.engine import make_engine
from handlers.points.ledger import PointsLedger, points_of
from handlers.showoff.chat import reward_of, store_of
from handlers.showoff.store import COUNTED, REPEAT, REWARDED, ShowoffStore
from tests.commerce.selling_kit import G1, G2
from tests.fakes import FakeClock
from tests.showoff.kit import coupons_of, sold_shop, text_with

FIRST = 5
BUYERS = [f"m{i:02d}" for i in range(14)]


async def test_exactly_the_first_n_of_many_simultaneous_pictures_are_rewarded(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    buyers = {m: (G1 if i % 2 else G2) for i, m in enumerate(BUYERS)}
    shop = await sold_shop(tmp_path, clock, buyers, text=text_with(FIRST), db_url=db_url)
    services = shop.app.services
    [active] = campaigns_in_group(services, G1)
    reward = reward_of(active, clock.now())
    other = make_engine(db_url)  # a second process's engine on the same database
    stores = [store_of(services), ShowoffStore(other, PointsLedger(other))]
    jobs = [(m, stores[k]) for k in range(2) for m in BUYERS] + [("nobody", stores[0])]
    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            outcomes = list(
                pool.map(
                    lambda job: (
                        job[0],
                        job[1].submit("t1", buyers.get(job[0], G1), job[0], job[0], reward, clock.now()),
                    ),
                    jobs,
                )
            )
    finally:
        other.dispose()

    by_status: dict[str, list[str]] = {}
    for member, outcome in outcomes:
        by_status.setdefault(outcome.status, []).append(member)
    assert len(by_status[REWARDED]) == FIRST
    assert len(by_status[COUNTED]) == len(BUYERS) - FIRST
    assert len(by_status[REPEAT]) == len(BUYERS)  # each buyer's second picture
    assert by_status["not_buyer"] == ["nobody"]
    ranks = sorted(o.rank for _, o in outcomes if o.status == REWARDED)
    assert ranks == list(range(1, FIRST + 1))

    store = stores[0]
    winners = set(by_status[REWARDED])
    assert set(store.ranks("t1")) == winners and store.taken("t1") == FIRST
    assert store.counted("t1") == len(BUYERS)
    assert points_of(services).awarded("showoff", "t1") == {m: 30 for m in winners}
    assert {m: len(coupons_of(shop, m)) for m in BUYERS} == {m: int(m in winners) for m in BUYERS}


ROOT = Path(__file__).resolve().parents[2]
PICTURES_IN_A_PROCESS = textwrap.dedent(
    """
    import json, sys
    from datetime import UTC, datetime
    from bot.storage.engine import make_engine
    from handlers.points.ledger import PointsLedger
    from handlers.showoff.store import Reward, ShowoffStore
    url, first, members = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
    engine = make_engine(url)
    store = ShowoffStore(engine, PointsLedger(engine))
    now = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
    outcomes = [store.submit("t1", "g", m, m, Reward(first=first, points=30), now) for m in members]
    print(json.dumps([[o.status, o.rank] for o in outcomes]))
    """
)


async def test_processes_posting_at_once_on_one_sqlite_file_reward_exactly_n(
    tmp_path: Path, clock: FakeClock
) -> None:
    buyers = {m: G1 for m in BUYERS}
    url = f"sqlite:///{tmp_path / 'tuanbot.db'}"
    shop = await sold_shop(tmp_path, clock, buyers, text=text_with(FIRST), db_url=url)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PICTURES_IN_A_PROCESS, url, str(FIRST), ",".join(BUYERS[n:] + BUYERS[:n])],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in (0, 5, 9)
    ]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    statuses = [status for result in results for status, _ in result]
    assert statuses.count(REWARDED) == FIRST
    assert statuses.count(COUNTED) == len(BUYERS) - FIRST and statuses.count(REPEAT) == 2 * len(BUYERS)
    ranks = sorted(rank for result in results for status, rank in result if status == REWARDED)
    assert ranks == list(range(1, FIRST + 1))
    store = store_of(shop.app.services)
    assert store.taken("t1") == FIRST and store.counted("t1") == len(BUYERS)
    assert sum(points_of(shop.app.services).awarded("showoff", "t1").values()) == 30 * FIRST
