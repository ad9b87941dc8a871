"""One-off broadcasts from the campaign file (`broadcasts.messages`): each message becomes a
broadcast like a chat /broadcast (a job, a code per group, list and cancel), reloading the same
file changes nothing, an edit replaces the pending one, a removal cancels it, a message a person
cancelled stays cancelled, a stale one is not sent, and a broken one is left out and reported
with file, line and field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from handlers.broadcast.from_files import file_sync
from handlers.broadcast.jobs import job_id, send_now
from handlers.broadcast.service import broadcasts_of
from handlers.broadcast.tables import BROADCASTS, SOURCES
from tests.broadcast.kit import G1, G2, G3, G4, broadcast_shop, code_of, private, with_messages
from tests.commerce.selling_kit import Shop
from tests.fakes import FakeClock

DAY_BEFORE = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai, a day before the opening
MORNING = """\
    - at: "2026-12-05 10:00"
      to: ["#fruit", 团购四群]
      text: 今晚8点开团，丹东草莓特价
"""
EVE = """\
    - {at: T-1h, to: "#veg", text: 蔬菜团一小时后开}
"""


@pytest.fixture
def early() -> FakeClock:
    return FakeClock(DAY_BEFORE)


def stored(shop: Shop) -> list[tuple[int, str, str]]:
    """(id, status, text) of every broadcast."""
    with shop.app.services.repo.engine.connect() as conn:
        rows = conn.execute(select(BROADCASTS.c.id, BROADCASTS.c.status, BROADCASTS.c.text)).all()
    return sorted((r[0], r[1], r[2]) for r in rows)


async def reload(shop: Shop, messages: str) -> None:
    shop.path.write_text(with_messages(messages), encoding="utf-8")
    assert shop.registry.load_file(shop.path) == []
    await file_sync(shop.app.services).check()


async def test_messages_are_scheduled_once_and_follow_the_file_as_it_is_edited(
    tmp_path: Path, early: FakeClock, db_url: str
) -> None:
    shop = broadcast_shop(tmp_path, early, db_url=db_url, messages=MORNING + EVE)
    sync = file_sync(shop.app.services)
    jobs = shop.app.services.campaigns.scheduler
    assert jobs is not None
    outcome = await sync.check()
    assert outcome is not None and len(outcome.created) == 2
    assert stored(shop) == [(1, "pending", "今晚8点开团，丹东草莓特价"), (2, "pending", "蔬菜团一小时后开")]
    one, two = broadcasts_of(shop.app.services).row(1), broadcasts_of(shop.app.services).row(2)
    assert one is not None and two is not None
    assert [g for g, _ in one.groups] == [G1, G2, G3, G4] and [g for g, _ in two.groups] == [G3, G4]
    assert one.due_at == datetime(2026, 12, 5, 2, 0, tzinfo=UTC) and two.due_at == datetime(
        2026, 12, 5, 11, 0, tzinfo=UTC
    )
    assert jobs.get_job(job_id(1)) is not None and jobs.get_job(job_id(2)) is not None

    assert await sync.check() is None  # nothing changed: no sync at all
    await reload(shop, MORNING + EVE)  # the same file saved again: a sync that makes nothing
    assert len(stored(shop)) == 2 and sync.syncs == 2

    await private(shop, "/broadcast list", "admin")
    listing = shop.transport.private_texts("admin")[-1]
    assert listing.count("活动文件 t1") == 2 and "#fruit 团购四群" in listing
    assert listing.splitlines()[1:] == [
        "#2 12月5日 19:00 #veg · 活动文件 t1 · 2 个群 · 待发送",
        "#1 12月5日 10:00 #fruit 团购四群 · 活动文件 t1 · 4 个群 · 待发送",
    ]
    await private(shop, "/broadcast list", "lily")  # not hers: a leader sees her own only
    assert "还没有群发" in shop.transport.private_texts("lily")[-1]

    await reload(shop, MORNING + EVE.replace("蔬菜团一小时后开", "蔬菜团马上开"))  # an edit
    assert [s[:2] for s in stored(shop)] == [(1, "pending"), (2, "cancelled"), (3, "pending")]
    assert jobs.get_job(job_id(2)) is None and jobs.get_job(job_id(3)) is not None

    await reload(shop, EVE.replace("蔬菜团一小时后开", "蔬菜团马上开"))  # the morning one removed
    assert [s[:2] for s in stored(shop)] == [(1, "cancelled"), (2, "cancelled"), (3, "pending")]
    assert jobs.get_job(job_id(1)) is None

    await private(shop, "/broadcast cancel 3", "lily")  # a leader cannot cancel the file's
    assert "不是你发起的" in shop.transport.private_texts("lily")[-1]
    await private(shop, "/broadcast cancel 3", "admin")
    await reload(shop, MORNING + EVE.replace("蔬菜团一小时后开", "蔬菜团马上开"))
    statuses = [s[:2] for s in stored(shop)]
    assert statuses == [(1, "cancelled"), (2, "cancelled"), (3, "cancelled"), (4, "pending")]
    assert broadcasts_of(shop.app.services).row(4).text == "今晚8点开团，丹东草莓特价"  # type: ignore[union-attr]

    early.set(datetime(2026, 12, 5, 2, 0, tzinfo=UTC))
    assert await send_now(shop.app.services, 4) == 4
    assert await send_now(shop.app.services, 4) == 0  # a replay sends nothing more
    await shop.drain()
    posts = {g: shop.texts(g) for g in (G1, G2, G3, G4)}
    assert all(len(posts[g]) == 1 for g in posts)
    assert "团购四群的家人们好" in posts[G4][0] and "今晚8点开团，丹东草莓特价" in posts[G4][0]
    assert len({code_of(posts[g][0]) for g in posts}) == 4
    with shop.app.services.repo.engine.connect() as conn:
        keys = conn.execute(select(SOURCES.c.broadcast_id, SOURCES.c.live_key.is_not(None))).all()
    assert sorted(keys) == [(1, False), (2, False), (3, True), (4, True)]


async def test_a_message_due_now_goes_out_at_once_and_a_stale_one_is_not_sent(
    tmp_path: Path, clock: FakeClock
) -> None:
    now_ish = """\
    - {at: "2026-12-05 19:55", to: [团购一群], text: 五分钟前的通知}
    - {at: "2026-12-05 18:00", to: [团购二群], text: 两小时前的通知}
"""
    shop = broadcast_shop(tmp_path, clock, messages=now_ish)  # the clock says 20:00
    outcome = await file_sync(shop.app.services).check()
    assert outcome is not None and len(outcome.created) == 1 and len(outcome.late) == 1
    await shop.drain()
    assert "五分钟前的通知" in shop.texts(G1)[-1]
    assert shop.texts(G2) == []
    assert [s[:2] for s in stored(shop)] == [(1, "sent")]


async def test_a_message_naming_an_unknown_tag_or_a_forbidden_claim_refuses_the_edit_at_its_lines(
    tmp_path: Path, early: FakeClock
) -> None:
    shop = broadcast_shop(tmp_path, early, messages=MORNING)
    await file_sync(shop.app.services).check()
    broken = """\
    - at: T-2h
      to: ["#frut", 团购一群]
      text: 明天开团
    - {at: T-3h, to: [团购二群], text: 全网最低价的草莓}
"""
    shop.path.write_text(with_messages(MORNING + broken), encoding="utf-8")
    problems = shop.registry.load_file(shop.path)  # the loader knows config.yaml's groups
    lines = shop.path.read_text(encoding="utf-8").splitlines()
    tag_line = next(i for i, row in enumerate(lines, 1) if "#frut" in row)
    claim_line = next(i for i, row in enumerate(lines, 1) if "全网最低价" in row)
    assert [(p.line, p.field) for p in problems] == [
        (tag_line, "broadcasts.messages[1].to[0]"),
        (claim_line, "broadcasts.messages[2].text"),
    ]
    assert "no group in config.yaml has the tag 'frut'; did you mean '#fruit'?" in problems[0].message
    await file_sync(shop.app.services).check()
    assert [s[1:] for s in stored(shop)] == [
        ("pending", "今晚8点开团，丹东草莓特价")
    ]  # the last good file runs

    await reload(shop, MORNING + broken.replace("#frut", "#fruit").replace("全网最低价的", ""))
    assert len(stored(shop)) == 3


async def test_removing_the_file_cancels_its_pending_messages(tmp_path: Path, early: FakeClock) -> None:
    shop = broadcast_shop(tmp_path, early, messages=MORNING)
    await file_sync(shop.app.services).check()
    shop.path.unlink()
    shop.registry.remove_file(shop.path)
    await file_sync(shop.app.services).check()
    assert [s[:2] for s in stored(shop)] == [(1, "cancelled")]
    early.advance(timedelta(days=1).total_seconds())
    assert await send_now(shop.app.services, 1) == 0
    await shop.drain()
    assert shop.texts(G1) == []
