"""Campaign timeline jobs: times per timezone, exactly-once across restarts, misses, edits, controls."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent

from bot.app import App
from bot.campaign.runtime import CampaignRuntime, job_id
from bot.startup import install_features
from tests.conftest import AppFactory
from tests.factories import group_message
from tests.fakes import FakeClock, FakeTransport

SHANGHAI = textwrap.dedent(
    """\
    id: berries
    title: 草莓团
    groups: [团购一群, 团购二群]
    opens_at: 2036-12-05 20:00
    closes_at: 2036-12-06 22:00
    products:
      - {code: A1, name: 草莓, price: 59.90, stock: 10}
    preheat:
      - {at: T-1d, text: 明晚8点开团}
    countdowns: [T-10m, T-1m]
    broadcasts:
      at: [T+30m]
    """
)

MIDNIGHT_BERLIN = textwrap.dedent(
    """\
    id: night
    title: 跨夜团
    groups: [团购一群]
    timezone: Europe/Berlin
    opens_at: 2036-12-31 23:55
    closes_at: 2037-01-01 00:30
    products:
      - {code: B1, name: 年货礼盒, price: 99, stock: 5}
    countdowns: [T-10m]
    broadcasts:
      at: [T+15m]
    """
)


def write_campaign(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _before_the_campaign(clock: FakeClock) -> None:
    clock.set(datetime(2036, 12, 1, 0, 0, tzinfo=UTC))


@pytest.fixture
def campaigns_dir(config) -> Path:
    return config.path(config.campaigns_dir)


def registry_for(app: App) -> CampaignRuntime:
    return install_features(app, persistent_jobs=True, watch=False)


Shop = tuple[App, FakeTransport, CampaignRuntime]


@pytest.fixture
def berries(make_app: AppFactory, campaigns_dir: Path) -> Shop:
    """The Shanghai campaign file in place, an app, and its registry with the file loaded."""
    write_campaign(campaigns_dir, "berries.yaml", SHANGHAI)
    app, transport = make_app()
    registry = registry_for(app)
    registry.load_all()
    return app, transport, registry


def fire_times(registry: CampaignRuntime, now: datetime) -> dict[str, datetime]:
    assert registry.scheduler is not None
    return {job.id: job.trigger.get_next_fire_time(None, now) for job in registry.scheduler.get_jobs()}


async def test_nodes_fire_at_their_local_times(
    make_app: AppFactory, clock: FakeClock, campaigns_dir: Path
) -> None:
    write_campaign(campaigns_dir, "berries.yaml", SHANGHAI)
    write_campaign(campaigns_dir, "night.yaml", MIDNIGHT_BERLIN)
    app, _ = make_app()
    registry = registry_for(app)
    assert registry.load_all() == []
    times = fire_times(registry, clock.now())
    utc = lambda *a: datetime(*a, tzinfo=UTC)  # noqa: E731
    assert times[job_id("berries", "open")] == utc(2036, 12, 5, 12, 0)  # 20:00 in Shanghai
    assert times[job_id("berries", "preheat-T-1d")] == utc(2036, 12, 4, 12, 0)
    assert times[job_id("berries", "countdown-T-10m")] == utc(2036, 12, 5, 11, 50)
    assert times[job_id("berries", "broadcast-T+30m")] == utc(2036, 12, 5, 12, 30)
    assert times[job_id("berries", "close")] == utc(2036, 12, 6, 14, 0)
    # Berlin is UTC+1 in winter; the campaign crosses midnight and the year.
    assert times[job_id("night", "countdown-T-10m")] == utc(2036, 12, 31, 22, 45)
    assert times[job_id("night", "open")] == utc(2036, 12, 31, 22, 55)
    assert times[job_id("night", "broadcast-T+15m")] == utc(2036, 12, 31, 23, 10)
    assert times[job_id("night", "close")] == utc(2036, 12, 31, 23, 30)
    # one job per node, never one per group
    assert len([j for j in times if j.startswith("campaign:berries:")]) == 6


async def test_restart_mid_campaign_posts_no_node_twice(
    berries: Shop, make_app: AppFactory, clock: FakeClock
) -> None:
    app, transport, registry = berries
    nodes = [n for n in registry.campaigns["berries"].nodes]
    first_half = [n for n in nodes if n.kind != "close"][:4]  # preheat, countdowns, open
    for node in first_half:
        clock.set(node.fire_at)
        await registry.run_node("berries", node.node_id)
    await app.services.outbox.drain()
    sent_before = list(transport.texts())
    assert len(sent_before) == 2 * len(first_half)

    # The process restarts: a new app on the same database, the jobs scheduled again.
    app2, transport2 = make_app()
    registry2 = registry_for(app2)
    registry2.load_all()
    assert registry2.scheduler is not None
    assert registry2.scheduler.get_job(job_id("berries", "open")) is None  # done everywhere: not rescheduled
    assert registry2.scheduler.get_job(job_id("berries", "close")) is not None
    for node in nodes:  # two overlapping runs of every node, old ones included
        clock.set(max(clock.now(), node.fire_at))
        await registry2.run_node("berries", node.node_id)
        await registry2.run_node("berries", node.node_id)
    await app2.services.outbox.drain()
    all_posts = sent_before + transport2.texts()
    # Each node once per group, no more. Nothing sold, so the broadcast has no news and stays
    # quiet in both groups (issue 13.12); the ledger still records that it ran ("done").
    assert len(all_posts) == 2 * (len(nodes) - 1)
    states = {(n.node_id, g): s for n, g, s, _ in registry2.node_states("berries")}
    assert {k: s for k, s in states.items() if s != "posted"} == {
        ("broadcast-T+30m", "团购一群"): "done",
        ("broadcast-T+30m", "团购二群"): "done",
    }


async def test_missed_nodes_skip_informational_and_run_critical_late(berries: Shop, clock: FakeClock) -> None:
    app, transport, registry = berries
    # The bot was down from before the countdown until two hours after opening.
    clock.set(datetime(2036, 12, 5, 14, 0, tzinfo=UTC))
    for node_id in ("countdown-T-10m", "countdown-T-1m", "open"):
        await registry.run_node("berries", node_id)
    await app.services.outbox.drain()
    states = {(n.node_id, g): (s, d) for n, g, s, d in registry.node_states("berries")}
    assert states[("countdown-T-10m", "团购一群")][0] == "skipped"
    assert "late" in states[("countdown-T-10m", "团购一群")][1]
    assert states[("open", "团购一群")][0] == "posted"  # state change: run late rather than never
    assert all("倒计时" not in t for t in transport.texts())
    assert registry.store.group_status("berries", "团购一群") == "open"


async def test_job_missed_by_apscheduler_is_recorded_as_skipped(berries: Shop, clock: FakeClock) -> None:
    app, _, registry = berries
    event = JobExecutionEvent(EVENT_JOB_MISSED, job_id("berries", "preheat-T-1d"), "default", clock.now())
    registry._on_missed(event)
    states = {(n.node_id, g): (s, d) for n, g, s, d in registry.node_states("berries")}
    assert states[("preheat-T-1d", "团购二群")] == ("skipped", "missed while the bot was down")


async def test_a_missed_node_is_recorded_for_all_its_groups_in_one_transaction(
    berries: Shop, clock: FakeClock
) -> None:
    """One write transaction per group held the event loop ~80 ms a node at 1,000 groups."""
    from sqlalchemy import event as sa_event

    app, _, registry = berries
    begins: list[str] = []
    sa_event.listen(app.services.repo.engine, "begin", lambda conn: begins.append("begin"))
    event = JobExecutionEvent(EVENT_JOB_MISSED, job_id("berries", "preheat-T-1d"), "default", clock.now())
    registry._on_missed(event)
    assert begins == ["begin"]
    states = {(n.node_id, g): s for n, g, s, _ in registry.node_states("berries")}
    assert states[("preheat-T-1d", "团购一群")] == states[("preheat-T-1d", "团购二群")] == "skipped"
    assert registry.outcomes[-1].skipped == 2
    registry._on_missed(event)  # again: nothing new, and nothing counted twice
    assert registry.outcomes[-1].skipped == 0


async def test_jobs_persist_in_the_database_job_store(
    berries: Shop, make_app: AppFactory, clock: FakeClock
) -> None:
    app, _, registry = berries
    assert registry.scheduler is not None
    registry.scheduler.start(paused=True)
    ids = {j.id for j in registry.scheduler.get_jobs()}
    registry.scheduler.shutdown(wait=False)
    # A new scheduler on the same database finds the same jobs without loading any file.
    app2, _ = make_app()
    registry2 = install_features(app2, watch=False)
    assert registry2.scheduler is not None
    registry2.scheduler.start(paused=True)
    assert {j.id for j in registry2.scheduler.get_jobs()} == ids
    job = registry2.scheduler.get_job(job_id("berries", "open"))
    assert job is not None and job.misfire_grace_time == app.services.config.scheduler.critical_grace_seconds
    preheat = registry2.scheduler.get_job(job_id("berries", "preheat-T-1d"))
    assert (
        preheat is not None and preheat.misfire_grace_time == app.services.config.scheduler.info_grace_seconds
    )
    registry2.scheduler.shutdown(wait=False)


async def test_rejected_edit_keeps_previous_version_and_tells_admins(
    make_app: AppFactory, clock: FakeClock, campaigns_dir: Path
) -> None:
    path = write_campaign(campaigns_dir, "berries.yaml", SHANGHAI)
    app, transport = make_app()
    registry = registry_for(app)
    registry.load_all()
    before = fire_times(registry, clock.now())
    path.write_text(SHANGHAI.replace("price: 59.90", "prise: 59.90"), encoding="utf-8")
    problems = registry.load_file(path)
    assert any(p.line == 7 and "did you mean 'price'" in p.message for p in problems)
    assert fire_times(registry, clock.now()) == before
    assert registry.campaigns["berries"].campaign.products[0].price_cents == 5990
    await app.services.outbox.drain()
    notice = transport.private_texts("admin")
    assert len(notice) == 1 and "berries.yaml 未生效" in notice[0] and "第7行" in notice[0]
    # A good edit replaces the jobs; a removed node's job goes away.
    path.write_text(SHANGHAI.replace("countdowns: [T-10m, T-1m]", "countdowns: [T-10m]"), encoding="utf-8")
    assert registry.load_file(path) == []
    assert job_id("berries", "countdown-T-1m") not in fire_times(registry, clock.now())
    # Removing the file cancels its pending jobs.
    path.unlink()
    registry.remove_file(path)
    assert fire_times(registry, clock.now()) == {}


async def test_leader_pause_resume_and_delay(berries: Shop, make_app: AppFactory, clock: FakeClock) -> None:
    app, transport, registry = berries
    assert registry.scheduler is not None
    registry.scheduler.start(paused=True)
    await transport.inject(group_message("/campaign pause berries", sender="lily", at=clock.now()))
    assert "已暂停" in transport.texts()[-1]
    assert all(j.next_run_time is None for j in registry.scheduler.get_jobs() if j.id.startswith("campaign:"))
    await transport.inject(group_message("/campaign resume berries", sender="lily", at=clock.now()))
    assert all(j.next_run_time is not None for j in registry.scheduler.get_jobs())
    await transport.inject(group_message("/campaign delay berries 15m", sender="lily", at=clock.now()))
    assert "推迟 15 分钟" in transport.texts()[-1] and "20:15 开团" in transport.texts()[-1]
    job = registry.scheduler.get_job(job_id("berries", "open"))
    assert job is not None and job.next_run_time == datetime(2036, 12, 5, 12, 15, tzinfo=UTC)
    # Paused state and delay survive a restart.
    await transport.inject(group_message("/campaign pause berries", sender="lily", at=clock.now()))
    registry.scheduler.shutdown(wait=False)
    app2, _ = make_app()
    registry2 = registry_for(app2)
    registry2.load_all()
    assert registry2.effective_times("berries")[0] == datetime(
        2036, 12, 5, 20, 15, tzinfo=registry2.campaigns["berries"].campaign.tz
    )
    assert registry2.store.control("berries").paused
    # Members cannot steer a campaign; malformed commands get the usage line.
    await transport.inject(group_message("/campaign pause berries", sender="bob", at=clock.now()))
    assert "仅限团长" in transport.texts()[-1]
    await transport.inject(group_message("/campaign delay berries soon", sender="lily", at=clock.now()))
    assert transport.texts()[-1].startswith("@") or "用法" in transport.texts()[-1]


async def test_campaign_list_and_status_in_chat(berries: Shop, clock: FakeClock) -> None:
    app, transport, registry = berries
    await transport.inject(group_message("/campaign list", sender="lily", at=clock.now()))
    assert "berries「草莓团」12月5日 20:00 开团" in transport.texts()[-1]
    await transport.inject(group_message("/campaign status berries", sender="lily", at=clock.now()))
    assert "待发 12" in transport.texts()[-1] and "preheat-T-1d" in transport.texts()[-1]
    await transport.inject(group_message("/campaign status nope", sender="lily", at=clock.now()))
    assert "没有找到活动 nope" in transport.texts()[-1]


def test_fake_transport_is_what_tests_use(make_app: AppFactory) -> None:
    app, transport = make_app()
    assert isinstance(transport, FakeTransport) and app.services.outbox.transport is transport


async def test_saving_a_file_reloads_it_and_a_broken_save_is_rejected(
    make_app: AppFactory, clock: FakeClock, campaigns_dir: Path
) -> None:
    """The real file watcher (watchfiles): saves are picked up without a restart."""
    import asyncio
    import contextlib

    from bot.startup import watch_campaigns

    path = write_campaign(campaigns_dir, "berries.yaml", SHANGHAI)
    app, transport = make_app()
    registry = registry_for(app)
    registry.load_all()
    seen: asyncio.Queue[Path] = asyncio.Queue()
    load_file = registry.load_file

    def spy(changed: Path) -> list:
        result = load_file(changed)
        seen.put_nowait(changed)
        return result

    registry.load_file = spy  # type: ignore[method-assign]
    watcher = asyncio.create_task(watch_campaigns(registry))
    try:
        await asyncio.sleep(0)  # let the watcher start
        path.write_text(SHANGHAI.replace("title: 草莓团", "title: 草莓团（改）"), encoding="utf-8")
        await asyncio.wait_for(seen.get(), 20)
        assert registry.campaigns["berries"].campaign.title == "草莓团（改）"
        path.write_text(SHANGHAI.replace("stock: 10", "stock: -1"), encoding="utf-8")
        await asyncio.wait_for(seen.get(), 20)
        assert registry.campaigns["berries"].campaign.title == "草莓团（改）"  # the last good version runs
        assert registry.campaigns["berries"].campaign.products[0].stock == 10
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


def test_a_timeline_kind_without_a_runner_stops_start_up(make_app: AppFactory) -> None:
    """Dropping the selling feature must not silently drop the opening and closing posts."""
    from handlers.help import chat as help_module

    app, _ = make_app([help_module])
    with pytest.raises(RuntimeError, match="broadcast, close, countdown, open"):
        registry_for(app)
