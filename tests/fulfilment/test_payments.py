"""/paid by id, private answers, 我的订单's payment lines, and the rate-limited payment reminders."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from handlers.fulfilment.adjustments import record_adjustment
from handlers.fulfilment.dues import campaign_dues
from handlers.fulfilment.payment_jobs import job_id, remind_payments
from handlers.fulfilment.payment_tables import PAYMENTS
from tests.commerce.selling_kit import CLOSES, Shop
from tests.factories import private_message
from tests.fakes import FakeClock
from tests.fulfilment.payment_kit import G1, campaign, close, mention, orders, shop_for


def paid_rows(shop: Shop) -> dict[str, tuple[int, str, str]]:
    with shop.app.services.repo.engine.connect() as conn:
        rows = conn.execute(
            select(PAYMENTS.c.member_id, PAYMENTS.c.paid_cents, PAYMENTS.c.method, PAYMENTS.c.marked_by)
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}


def no_money_in_groups(shop: Shop) -> None:
    """Nothing per member from payments (amounts owed or paid, refunds, reminders, lists) in a group."""
    private = (
        "已付 ¥",
        "应付 ¥",
        "退款 ¥",
        "温馨提醒",
        "付款登记",
        "付款情况",
        "分拣单和提货单已生成",
        "exports",
    )
    for message in shop.transport.sent:
        if message.group_id:
            assert not any(marker in message.text for marker in private), message.text


async def test_leader_marks_a_member_paid_privately(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_for(tmp_path, clock)
    await orders(shop)
    await close(shop)
    shop.transport.clear()
    await mention(shop, "/paid @alice", "lily", ("alice",))
    assert paid_rows(shop) == {"alice": (900, "leader", "lily")}
    [to_lily] = shop.transport.private_texts("lily")
    assert "王阿姨（alice）已付 ¥9.00" in to_lily and "还有 1 人未付，共 ¥25.50" in to_lily
    [note] = shop.transport.private_texts("alice")
    assert "已登记付款 ¥9.00" in note
    assert shop.texts(G1) == ["✅ 已记录，详情已私信团长。"]
    # again: nothing new is recorded, the leader is told it was already
    shop.transport.clear()
    await mention(shop, "/paid @alice", "lily", ("alice",))
    assert "之前已登记付款" in shop.transport.private_texts("lily")[0]
    assert shop.transport.private_texts("alice") == []
    # Nothing recorded, or only a list asked for: the group is not told "已记录" (session 38's walk).
    assert shop.texts(G1) == ["详情已私信团长，这次没有新登记的付款。"]
    shop.transport.clear()
    await shop.say("/paid list", "lily")
    assert shop.texts(G1) == ["📋 未付名单已私信团长。"]
    no_money_in_groups(shop)


async def test_a_member_cannot_mark_payment_even_with_a_leaders_name(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_for(tmp_path, clock)
    await orders(shop)
    await close(shop)
    shop.transport.clear()
    await shop.say("/paid all", "mallory", name="lily")
    await mention(shop, "/paid @alice", "bob", ("alice",))
    assert paid_rows(shop) == {}
    assert all("仅限团长使用" in t for t in shop.texts(G1)) and len(shop.texts(G1)) == 2
    # a leader of another group cannot mark this group's members either
    await mention(shop, "/paid @alice", "mike", ("alice",))
    assert paid_rows(shop) == {}


async def test_paid_all_marks_every_buyer_of_the_group_and_list_shows_who_owes(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_for(tmp_path, clock)
    await orders(shop)
    await close(shop)
    shop.transport.clear()
    await shop.say("/paid list", "lily")
    [listing] = shop.transport.private_texts("lily")
    assert (
        "0/2 人已付" in listing
        and "李叔（bob）应付 ¥25.50" in listing
        and "王阿姨（alice）应付 ¥9.00" in listing
    )
    assert "carol" not in listing  # another group's buyer
    assert "\n\n·" not in listing  # one member a line (session 38's walk)
    await shop.say("/paid all", "lily")
    assert set(paid_rows(shop)) == {"alice", "bob"}  # carol ordered in G2: not lily's to mark
    marked = shop.transport.private_texts("lily")[-1]
    assert "本群已全部付清" in marked and "还有 0 人" not in marked and "\n\n·" not in marked
    assert len(shop.transport.private_texts("alice")) == 1 and len(shop.transport.private_texts("bob")) == 1
    shop.transport.clear()
    await shop.say("/paid list", "lily")
    assert "全部已付清" in shop.transport.private_texts("lily")[0]
    await shop.say("/paid", "lily")
    assert "用法" in shop.texts(G1)[-1]
    no_money_in_groups(shop)


async def test_my_orders_shows_paid_state_in_group_and_refund_privately(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_for(tmp_path, clock)
    await orders(shop)
    await shop.say("我的订单", "alice", name="王阿姨")
    assert "付款状态" not in shop.texts(G1)[-1]  # before close: no payment lines
    await close(shop)
    services = shop.app.services
    with services.repo.engine.begin() as conn:
        record_adjustment(conn, "t1", "alice", "refund", 199, 12, "lily", clock.now())
    await shop.say("我的订单", "alice", name="王阿姨")
    in_group = shop.texts(G1)[-1]
    assert "付款状态：未付款" in in_group and "退款" not in in_group and "¥7.01" not in in_group
    await shop.transport.inject(private_message("我的订单", "alice", at=clock.now()))
    private = shop.transport.private_texts("alice")[-1]
    assert "退款 ¥1.99" in private and "应付 ¥7.01（未付）" in private
    await shop.say("/paid @alice", "lily")
    await mention(shop, "/paid @alice", "lily", ("alice",))
    await shop.say("我的订单", "alice", name="王阿姨")
    assert "付款状态：已付款" in shop.texts(G1)[-1]


# ------------------------------------------------------------------------------------ reminders
async def test_close_schedules_reminders_and_they_are_capped_spaced_and_never_twice(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = shop_for(tmp_path, clock)
    await orders(shop)
    await close(shop)
    services = shop.app.services
    scheduler = services.campaigns.scheduler
    assert scheduler is not None
    job = scheduler.get_job(job_id("t1"))
    assert job is not None and job.args == ("t1",)
    assert clock.to_real(CLOSES + timedelta(hours=12)) == job.trigger.run_date
    await mention(shop, "/paid @bob", "lily", ("bob",))
    shop.transport.clear()

    clock.set(CLOSES + timedelta(hours=12))
    assert await remind_payments(services, "t1") == 2  # alice and carol owe; bob paid
    assert await remind_payments(services, "t1") == 0  # a rerun at the same time: nothing twice
    await shop.drain()
    assert len(shop.transport.private_texts("alice")) == 1 and shop.transport.private_texts("bob") == []
    assert "应付 ¥9.00" in shop.transport.private_texts("alice")[0]
    # the latest job with that id (pending jobs are replaced when the scheduler starts)
    rescheduled = [j for j in scheduler.get_jobs() if j.id == job_id("t1")][-1]
    assert rescheduled is not None and rescheduled.trigger.run_date == clock.to_real(
        CLOSES + timedelta(hours=36)
    )

    clock.set(CLOSES + timedelta(hours=20))  # sooner than payment_reminder_every: nothing
    assert await remind_payments(services, "t1") == 0
    await mention(shop, "/paid @alice", "lily", ("alice",))
    clock.set(CLOSES + timedelta(hours=36))
    assert await remind_payments(services, "t1") == 1  # carol's second; alice paid meanwhile
    clock.set(CLOSES + timedelta(hours=60))
    assert await remind_payments(services, "t1") == 0  # at most payment_reminders (2)
    await shop.drain()
    assert len(shop.transport.private_texts("carol")) == 2 and len(shop.transport.private_texts("alice")) == 2
    no_money_in_groups(shop)


async def test_no_reminders_when_members_pay_on_pickup(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_for(tmp_path, clock, fulfilment="  payment: on_pickup\n")
    await orders(shop)
    await close(shop)
    services = shop.app.services
    assert services.campaigns.scheduler is not None
    assert services.campaigns.scheduler.get_job(job_id("t1")) is None
    clock.set(CLOSES + timedelta(days=3))
    assert await remind_payments(services, "t1") == 0
    # /paid still works as the leader's override
    await mention(shop, "/paid @alice", "lily", ("alice",))
    assert campaign_dues(services, campaign(shop))["alice"].paid


async def test_no_reminder_before_the_members_group_closed(tmp_path: Path, clock: FakeClock) -> None:
    shop = shop_for(tmp_path, clock)
    await orders(shop)
    clock.set(CLOSES - timedelta(minutes=30))
    await shop.say("/close", "lily")  # only G1 closes early
    await shop.app.services.settle()
    clock.set(CLOSES - timedelta(minutes=1))
    assert await remind_payments(shop.app.services, "t1") == 2  # alice and bob; carol's G2 is open
    assert shop.transport.private_texts("carol") == []


async def test_paid_list_before_any_order_says_there_are_none(tmp_path: Path, clock: FakeClock) -> None:
    """It said「0/0 人已付 全部已付清 🎉」before the sale had an order (session 38's walk)."""
    shop = shop_for(tmp_path, clock)
    await shop.open()
    shop.transport.clear()
    await shop.say("/paid list", "lily")
    [listing] = shop.transport.private_texts("lily")
    assert "本群还没有订单" in listing and "全部已付清" not in listing
