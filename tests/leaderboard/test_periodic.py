"""The periodic board (`leaderboard.every`): started by the opening, posted only when orders
changed the figures, at most once per run, and ending when the sale closes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from handlers.leaderboard.jobs import board_job_id, job_board
from schedules import runtime
from tests.commerce.selling_kit import CLOSES, G1, G2, OPENS, Shop, build_shop, campaign_text
from tests.fakes import FakeClock

EVERY = timedelta(minutes=10)
TEXT = campaign_text(a1=50, a2=50, limit=20) + "leaderboard: {every: 10m, with_broadcasts: false}\n"


def boards(shop: Shop, group: str = G1) -> list[str]:
    return [t for t in shop.texts(group) if "实时销量榜" in t]


@pytest.fixture
async def shop(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Shop]:
    shop = build_shop(tmp_path, clock, text=TEXT)
    jobs = shop.registry.scheduler
    assert jobs is not None
    jobs.start(paused=True)  # a real scheduler holding the jobs; the test runs their bodies itself
    runtime.install(shop.app, shop.app.services, shop.app.services.campaigns)
    yield shop
    runtime.uninstall()
    jobs.shutdown()


def next_run(shop: Shop) -> object:
    jobs = shop.registry.scheduler
    assert jobs is not None
    job = jobs.get_job(board_job_id("t1"))
    return None if job is None else job.trigger.run_date


async def tick(shop: Shop, minutes: int) -> None:
    shop.clock.set(OPENS + timedelta(minutes=minutes))
    await job_board("t1")
    await shop.drain()


async def test_orders_make_one_board_per_window_and_quiet_windows_none(shop: Shop) -> None:
    await shop.open()
    assert next_run(shop) == shop.registry.scheduler.clock.to_real(OPENS + EVERY)  # type: ignore[union-attr]
    await shop.say("A1 2", "alice", G1)
    await shop.say("A1 1", "bob", G1)  # two orders in one window: one board
    shop.transport.clear()
    await tick(shop, 10)
    [post] = boards(shop, G1)
    assert "已售 3盒" in post and len(boards(shop, G2)) == 1
    await tick(shop, 20)  # no order since: nothing
    assert len(boards(shop, G1)) == 1
    await shop.say("A2 1", "carol", G2)
    await tick(shop, 30)
    assert len(boards(shop, G1)) == 2 and "赣南脐橙" in boards(shop, G1)[1]
    assert next_run(shop) is not None  # still selling: it comes back


async def test_with_broadcasts_off_the_broadcast_posts_no_board(shop: Shop) -> None:
    await shop.open()
    await shop.say("A1 2", "alice", G1)
    shop.transport.clear()
    shop.clock.set(OPENS + timedelta(minutes=30))
    await shop.registry.run_node("t1", "broadcast-T+30m")
    await shop.drain()
    assert boards(shop, G1) == []


async def test_it_posts_nothing_to_a_closed_group_and_ends_with_the_sale(shop: Shop) -> None:
    await shop.open()
    await shop.say("A1 2", "alice", G1)
    await shop.say("/close", "lily", G1)
    await shop.drain()
    shop.transport.clear()
    await tick(shop, 10)
    assert boards(shop, G1) == [] and len(boards(shop, G2)) == 1
    shop.clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.say("A1 1", "bob", G2)  # refused: closed
    shop.transport.clear()
    jobs = shop.registry.scheduler
    assert jobs is not None and jobs.remove(board_job_id("t1"))  # the one-off job, as the scheduler takes it
    await job_board("t1")
    await shop.drain()
    assert boards(shop, G2) == [] and next_run(shop) is None  # every group closed: no next check
