"""Scheduled jobs' reads have threads of their own: a member's read never queues behind them."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from bot.background import THREAD_PREFIX, THREADS, in_background
from handlers.monitoring import jobs
from schedules import runtime
from tests.commerce.selling_kit import build_shop
from tests.fakes import FakeClock


async def test_a_chat_read_goes_ahead_while_every_background_thread_is_busy() -> None:
    release = threading.Event()
    busy = [asyncio.create_task(in_background(release.wait, 10)) for _ in range(THREADS * 5)]
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    name = await asyncio.to_thread(lambda: threading.current_thread().name)
    assert time.perf_counter() - started < 0.5 and not name.startswith(THREAD_PREFIX)
    assert not any(task.done() for task in busy)
    release.set()
    assert all(await asyncio.gather(*busy))


async def test_the_monitor_job_reads_in_the_background_threads(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    threads: list[str] = []
    registry = shop.app.services.campaigns
    selling_groups = registry.selling_groups

    def recording(campaign):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return selling_groups(campaign)

    registry.selling_groups = recording  # type: ignore[method-assign]
    runtime.install(shop.app, shop.app.services, registry)
    try:
        await jobs.job_monitor("t1")
    finally:
        runtime.uninstall()
    assert threads and all(name.startswith(THREAD_PREFIX) for name in threads)
