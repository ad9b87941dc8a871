"""Acceptance 3 (single account): a broadcast to 3 groups by tag arrives with each group's
salutation and its own code; replies count per group in /stats; a leader cannot reach a group
they do not lead; the preview goes privately to the author; list and cancel."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from handlers.broadcast.jobs import job_id
from handlers.broadcast.service import broadcasts_of
from handlers.broadcast.tables import BROADCASTS
from tests.broadcast.kit import G1, G2, G3, G4, broadcast_shop, code_of, private
from tests.commerce.selling_kit import Shop
from tests.fakes import FakeClock


def stored(shop: Shop) -> list[tuple[int, str]]:
    with shop.app.services.repo.engine.connect() as conn:
        return sorted((r[0], r[1]) for r in conn.execute(select(BROADCASTS.c.id, BROADCASTS.c.status)))


async def test_tag_broadcast_reaches_three_groups_with_salutation_code_and_counted_replies(
    tmp_path: Path, clock: FakeClock, db_url: str
) -> None:
    shop = broadcast_shop(tmp_path, clock, db_url=db_url)
    await shop.say("大家好", "alice", G1, name="王阿姨")
    await shop.say("在的", "bob", G1, name="李叔")
    await shop.say("收到", "lily", G1, name="莉莉")
    shop.app.flush_inbound()
    shop.transport.clear()

    await shop.say("/broadcast now #fruit 今晚8点开团，丹东草莓特价", "lily", G1, name="莉莉")

    preview = shop.transport.private_texts("lily")
    assert len(preview) == 1 and "群发预览 #1" in preview[0] and "马上发送" in preview[0]
    assert "团购一群、团购二群、团购三群" in preview[0] and "今晚8点开团" in preview[0]
    posts = {g: shop.texts(g) for g in (G1, G2, G3, G4)}
    assert [len(posts[g]) for g in (G1, G2, G3)] == [1, 1, 1] and posts[G4] == []
    one, two, three = posts[G1][0], posts[G2][0], posts[G3][0]
    assert "团购一群的家人们好（本群3位邻居）" in one and "莉莉团长为大家带来消息" in one
    assert "团购二群的家人们好！" in two and "莉莉团长" in two  # nobody seen in 二群: no count
    assert "团长" not in three  # 三群's first leader (anna) has no known name: no greeting by id
    assert all("今晚8点开团，丹东草莓特价" in p for p in (one, two, three))
    codes = {g: code_of(posts[g][0]) for g in (G1, G2, G3)}
    assert len(set(codes.values())) == 3  # each group its own code, and not masked on the way out
    assert code_of(preview[0]) == codes[G1]  # the preview is 一群's copy

    await shop.say(f"{codes[G1]} 报名", "alice", G1)
    await shop.say(f"{codes[G1].lower()}报名+1", "alice", G1)  # again, lower case: alice counts once
    await shop.say(f"回复 {codes[G1]}", "bob", G1)
    await shop.say(f"{codes[G2]} 报名", "carol", G2)
    await shop.say(f"{codes[G1]} 报名", "dave", G2)  # another group's code: not counted
    shop.transport.clear()

    await shop.say("/stats", "lily", G1)
    stats_one = shop.transport.private_texts("lily")[-1]
    assert "群发·已发群次：1" in stats_one and "群发·回复报名人数：2" in stats_one
    await shop.say("/stats", "lily", G2)
    assert "群发·回复报名人数：1" in shop.transport.private_texts("lily")[-1]
    row = broadcasts_of(shop.app.services).row(1)
    assert row is not None and row.replies == {G1: 2, G2: 1}


async def test_leader_is_refused_for_a_group_they_do_not_lead_and_bad_commands_get_usage(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = broadcast_shop(tmp_path, clock)
    await shop.say("/broadcast now #veg 蔬菜团明天开", "lily", G1)
    refusal = shop.texts(G1)[-1]
    assert "不能群发到你不管理的群：团购四群" in refusal and "团购一群" in refusal
    await shop.say(f"/broadcast now {G4} 你好", "lily", G1)
    assert "不能群发到你不管理的群：团购四群" in shop.texts(G1)[-1]
    await shop.say("/broadcast now all 你好", "lily", G1)
    assert "只有管理员" in shop.texts(G1)[-1]
    await shop.say("/broadcast 后年 #fruit 你好", "lily", G1)
    assert "用法" in shop.texts(G1)[-1]
    await shop.say("/broadcast now #fruit", "lily", G1)
    assert "用法" in shop.texts(G1)[-1]
    await shop.say("/broadcast now #fruit 你好", "mallory", G1, name="莉莉")  # a name is no right
    await shop.say("/broadcast now #fruit 你好", "lily", G4)  # in a group she does not lead: a member
    assert "仅限团长" in shop.texts(G4)[-1]
    assert stored(shop) == [] and shop.transport.private_texts("lily") == []
    assert not [t for g in (G1, G2, G3, G4) for t in shop.texts(g) if "家人们好" in t]

    await shop.say("/broadcast now #veg 管理员通知", "admin", G1)  # admins reach any group
    assert "管理员通知" in shop.texts(G4)[-1] and "管理员通知" in shop.texts(G3)[-1]
    assert stored(shop) == [(1, "sent")]


async def test_scheduled_preview_list_and_cancel_by_author_or_admin(tmp_path: Path, clock: FakeClock) -> None:
    shop = broadcast_shop(tmp_path, clock)
    jobs = shop.app.services.campaigns.scheduler
    assert jobs is not None
    await private(shop, "/broadcast 明天10点 #fruit 明早十点抢购", "lily")
    preview = shop.transport.private_texts("lily")[-1]
    assert "定时发送：" in preview and "10:00" in preview and "/broadcast cancel 1" in preview
    assert [shop.texts(g) for g in (G1, G2, G3)] == [[], [], []]  # not yet
    assert jobs.get_job(job_id(1)) is not None
    await private(shop, "/broadcast +2h #fruit 第二条", "lily")

    await private(shop, "/broadcast list", "lily")
    listing = shop.transport.private_texts("lily")[-1]
    assert "#1" in listing and "#2" in listing and listing.count("待发送") == 2

    await private(shop, "/broadcast cancel 1", "mike")
    assert "不是你发起的" in shop.transport.private_texts("mike")[-1]
    await private(shop, "/broadcast cancel 1", "lily")
    assert "已取消" in shop.transport.private_texts("lily")[-1]
    assert jobs.get_job(job_id(1)) is None
    await private(shop, "/broadcast cancel 2", "admin")
    assert "已取消" in shop.transport.private_texts("admin")[-1]
    assert stored(shop) == [(1, "cancelled"), (2, "cancelled")]
    count, _ = broadcasts_of(shop.app.services).deliver(1, clock.now())  # a stray run sends nothing
    assert count == 0
    await shop.drain()
    assert [shop.texts(g) for g in (G1, G2, G3)] == [[], [], []]
    await private(shop, "/broadcast cancel 1", "lily")
    assert "之前已取消" in shop.transport.private_texts("lily")[-1]
