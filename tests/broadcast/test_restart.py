"""A broadcast due later lives in the scheduler's persistent store and in its own table: after a
restart its job is still there, it goes out once (a second run sends nothing), and replies to
its codes still count in the restarted process (codes are read back into memory at start).
A campaign file's message is made once whatever restarts (the file watcher's sync finds it
made), and a file removed while the bot was down takes its pending messages with it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot.app import App
from bot.startup import install_features
from handlers.broadcast.from_files import file_sync
from handlers.broadcast.jobs import JOB_REF, job_broadcast, job_id
from handlers.broadcast.service import broadcasts_of
from schedules.jobs import JOBS_TABLE
from tests.broadcast.kit import G1, G2, G3, G4, GROUPS, code_of, with_messages
from tests.conftest import make_config
from tests.factories import group_message, private_message
from tests.fakes import FakeClock, FakeTransport

# These tests run a real scheduler, which fires any job whose time the wall clock has passed,
# and a FakeClock's times are wall-clock times for it: the days below are a month ahead of the
# real clock, so a job is only ever run by the tests' own calls (fixed dates went off once
# the real date passed them).
EVENING = (datetime.now(UTC) + timedelta(days=30)).replace(hour=12, minute=0, second=0, microsecond=0)
"""20:00 in Asia/Shanghai, the evening before the morning broadcast."""
MORNING = EVENING + timedelta(hours=14)  # 10:00 in Asia/Shanghai the next day


def shanghai(at: datetime) -> str:
    return at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


def sale_after_the_morning(text: str) -> str:
    """The kit's sale (2026-12-05 20:00-22:00) moved to the evening after MORNING: its timeline's
    jobs are a month ahead of the real clock too (on its fixed date the real scheduler opened it
    mid-test, and every group got the opening post)."""
    day = shanghai(MORNING)[:10]
    assert text.count("2026-12-05 ") == 2  # opens_at, closes_at
    return text.replace("2026-12-05 ", f"{day} ")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(EVENING)


async def _run(hooks: list[Any], app: App) -> None:
    for hook in hooks:
        result = hook(app)
        if asyncio.iscoroutine(result):
            await result


async def started(tmp_path: Path, clock: FakeClock) -> tuple[App, FakeTransport]:
    """An app as `tuanbot run` starts it: persistent jobs, start steps, the scheduler running."""
    app = App.build(make_config(tmp_path, groups=GROUPS), clock=clock)
    transport = FakeTransport(app, clock)
    install_features(app, persistent_jobs=True, watch=False)
    await _run(app.startup_hooks, app)
    return app, transport


def stored_jobs(tmp_path: Path) -> list[str]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tuanbot.db'}")
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(sa.text(f"SELECT id FROM {JOBS_TABLE}")).all()]
    engine.dispose()
    return ids


async def test_scheduled_broadcast_survives_a_restart_and_is_sent_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    app, transport = await started(tmp_path, clock)
    await transport.inject(private_message("/broadcast +30m #fruit 半小时后开抢", "lily", at=clock.now()))
    assert "群发预览 #1" in transport.private_texts("lily")[-1]
    assert transport.texts(G1) == []
    await _run(app.shutdown_hooks, app)
    assert stored_jobs(tmp_path).count(job_id(1)) == 1  # in the database, not only in memory

    again, transport = await started(tmp_path, clock)
    jobs = again.services.campaigns.scheduler
    assert jobs is not None
    job = jobs.get_job(job_id(1))
    assert job is not None and job.func_ref == JOB_REF and tuple(job.args) == (1,)
    clock.advance(timedelta(minutes=30).total_seconds())
    await job_broadcast(1)  # the job's body, as the scheduler calls it
    await job_broadcast(1)  # run twice (a replay after a crash): nothing more
    await again.services.outbox.drain()
    posts = {g: transport.texts(g) for g in (G1, G2, G3, G4)}
    assert [len(posts[g]) for g in (G1, G2, G3)] == [1, 1, 1] and posts[G4] == []
    assert all("半小时后开抢" in posts[g][0] for g in (G1, G2, G3))

    code = code_of(posts[G2][0])  # the restarted process counts replies to the stored codes
    await transport.inject(group_message(f"{code} 报名", "carol", group=G2, at=clock.now()))
    again.flush_inbound()
    row = broadcasts_of(again.services).row(1)
    assert row is not None and row.status == "sent" and row.replies == {G2: 1}
    await _run(again.shutdown_hooks, again)


async def test_a_pending_broadcast_whose_job_was_lost_is_scheduled_again_at_start(
    tmp_path: Path, clock: FakeClock
) -> None:
    app, transport = await started(tmp_path, clock)
    await transport.inject(private_message("/broadcast 明天10点 #fruit 明早见", "lily", at=clock.now()))
    await _run(app.shutdown_hooks, app)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tuanbot.db'}")
    with engine.begin() as conn:  # the job is gone (removed by hand, or a store that kept nothing)
        conn.execute(sa.text(f"DELETE FROM {JOBS_TABLE}"))
    engine.dispose()

    again, _ = await started(tmp_path, clock)
    jobs = again.services.campaigns.scheduler
    assert jobs is not None
    job = jobs.get_job(job_id(1))
    row = broadcasts_of(again.services).row(1)
    assert job is not None and row is not None and job.next_run_time == clock.to_real(row.due_at)
    await _run(again.shutdown_hooks, again)
    assert stored_jobs(tmp_path).count(job_id(1)) == 1


async def _synced(app: App, at_least: int) -> None:
    """Wait (real time, bounded) until the file watcher has synced `at_least` times."""
    sync = file_sync(app.services)
    for _ in range(200):
        if sync.syncs >= at_least:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the campaign files' messages were never synced")


async def started_with_file(tmp_path: Path, clock: FakeClock, messages: str) -> tuple[App, FakeTransport]:
    folder = tmp_path / "campaigns"
    folder.mkdir(exist_ok=True)
    if messages:
        (folder / "t1.yaml").write_text(sale_after_the_morning(with_messages(messages)), encoding="utf-8")
    app = App.build(make_config(tmp_path, groups=GROUPS), clock=clock)
    file_sync(app.services).every = 0.02
    transport = FakeTransport(app, clock)
    install_features(app, persistent_jobs=True, watch=False)
    await _run(app.startup_hooks, app)
    await _synced(app, 1)
    return app, transport


async def test_a_file_message_is_scheduled_once_across_restarts_and_sent_once(tmp_path: Path) -> None:
    clock = FakeClock(EVENING)  # the evening before the sale
    message = f'    - {{at: "{shanghai(MORNING)}", to: ["#fruit"], text: 明早十点开抢}}\n'
    app, _ = await started_with_file(tmp_path, clock, message)
    row = broadcasts_of(app.services).row(1)
    assert row is not None and row.status == "pending" and row.campaign_id == "t1"
    await _run(app.shutdown_hooks, app)

    again, transport = await started_with_file(tmp_path, clock, message)  # the same file, restarted
    assert [r.id for r in broadcasts_of(again.services).rows()] == [1]
    jobs = again.services.campaigns.scheduler
    assert jobs is not None and jobs.get_job(job_id(1)) is not None
    clock.set(MORNING)
    await job_broadcast(1)
    await job_broadcast(1)
    await again.services.outbox.drain()
    assert [len(transport.texts(g)) for g in (G1, G2, G3, G4)] == [1, 1, 1, 0]
    row = broadcasts_of(again.services).row(1)
    assert row is not None and row.status == "sent"
    await _run(again.shutdown_hooks, again)


async def test_a_file_removed_while_the_bot_was_down_cancels_its_pending_messages(tmp_path: Path) -> None:
    clock = FakeClock(EVENING)
    message = f'    - {{at: "{shanghai(MORNING)}", to: all, text: 明早十点开抢}}\n'
    app, _ = await started_with_file(tmp_path, clock, message)
    await _run(app.shutdown_hooks, app)
    (tmp_path / "campaigns" / "t1.yaml").unlink()

    again, _ = await started_with_file(tmp_path, clock, "")
    row = broadcasts_of(again.services).row(1)
    assert row is not None and row.status == "cancelled"
    jobs = again.services.campaigns.scheduler
    assert jobs is not None and jobs.get_job(job_id(1)) is None
    await _run(again.shutdown_hooks, again)
