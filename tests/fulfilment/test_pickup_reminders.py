"""The pickup reminder: scheduled at close + pickup_reminder_after, sent once, privately."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from handlers.fulfilment.pickup_close import remind_job_id
from handlers.fulfilment.pickup_jobs import job_pickup_reminder, send_pickup_reminders
from schedules import runtime
from tests.commerce.selling_kit import CLOSES
from tests.fakes import FakeClock
from tests.fulfilment.pickup_kit import G1, G2, closed_shop, codes, in_group, private


async def test_the_reminder_goes_once_to_who_has_not_picked_up(tmp_path: Path, clock: FakeClock) -> None:
    shop = await closed_shop(tmp_path, clock)
    scheduler = shop.registry.scheduler
    assert scheduler is not None
    job = scheduler.get_job(remind_job_id("t1"))
    assert job is not None and job.args == ("t1",)
    assert job.trigger.run_date == CLOSES + timedelta(hours=24)
    await in_group(shop, "/clerk add @阿东 东门", "lily", mentions=("dong",))
    await private(shop, codes(shop)["a"].code, "dong")
    clock.set(CLOSES + timedelta(hours=24))
    runtime.install(shop.app, shop.app.services, shop.app.services.campaigns)
    try:
        await job_pickup_reminder("t1")
        await job_pickup_reminder("t1")  # a rerun (or a restart) reminds nobody twice
    finally:
        runtime.uninstall()
    await shop.drain()
    for member in ("b", "c", "d"):
        reminders = [t for t in shop.transport.private_texts(member) if "还没有取" in t]
        assert len(reminders) == 1 and codes(shop)[member].code in reminders[0]
        assert codes(shop)[member].reminded_at is not None
    assert not any("还没有取" in t for t in shop.transport.private_texts("a"))
    assert not any("还没有取" in t for t in shop.texts(G1) + shop.texts(G2))


async def test_no_reminder_when_the_campaign_turns_it_off(tmp_path: Path, clock: FakeClock) -> None:
    shop = await closed_shop(tmp_path, clock, extra="fulfilment:\n  pickup_reminder_after: null\n")
    scheduler = shop.registry.scheduler
    assert scheduler is not None and scheduler.get_job(remind_job_id("t1")) is None
    assert await send_pickup_reminders(shop.app.services, "unknown-campaign") == 0
