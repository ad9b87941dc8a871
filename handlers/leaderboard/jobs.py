"""The periodic board (`leaderboard.every`): a one-off job that checks and comes back.

Like the order guard's check, it is one persisted one-off job per campaign (APScheduler imports
the body by reference), added after the opening commits and re-added by each run while a group
of the campaign still sells, so a restart keeps it and a closed campaign lets it end. Each run
reads the stock and the active orders once, in one write transaction, and posts the board to
every open group whose figures changed since its last board (`posting.post_if_changed`): with no
new order it posts nothing, so the board follows orders at most once per `every`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from loguru import logger
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.campaign import Campaign
from bot.context import Services
from bot.vocab import SaleStatus
from handlers.leaderboard.posting import compute, post_if_changed
from handlers.selling.service import selling
from handlers.selling.tables import GROUPS
from schedules import runtime
from schedules.jobs import Grace

CHECK_JOB = "handlers.leaderboard.jobs:job_board"


def board_job_id(campaign_id: str) -> str:
    """Not under `campaign:<id>:`: the campaign runtime removes its own jobs by that prefix."""
    return f"leaderboard:{campaign_id}"


def schedule_check(services: Services, campaign_id: str, when: datetime) -> None:
    """The next check at `when` (replacing a pending one); nothing without a scheduler."""
    scheduler = services.campaigns.scheduler
    if scheduler is None:
        return
    scheduler.at(
        CHECK_JOB,
        when,
        args=[campaign_id],
        id=board_job_id(campaign_id),
        name=f"{campaign_id} leaderboard",
        grace=Grace.UNBOUNDED,  # late, it shows the figures of then; missed, the chain would stop
    )


async def job_board(campaign_id: str) -> None:
    """Post the changed boards, then come back in `every` while a group still sells."""
    services = runtime.current(Services)
    loaded = services.campaigns.campaigns.get(campaign_id)
    section = loaded.campaign.leaderboard if loaded is not None else None
    if loaded is None or section is None or not section.enabled or section.every is None:
        logger.bind(campaign=campaign_id).info("leaderboard: periodic board stops")
        return
    now = services.clock.now()
    try:
        admits, selling_left = await asyncio.to_thread(check, services, loaded.campaign, now)
    except OperationalError as exc:  # the database is busy or gone: the next check tries again
        logger.bind(campaign=campaign_id).warning("leaderboard: check failed, next one as usual: {}", exc)
        admits, selling_left = [], True
    for admit in admits:
        admit()
    closes_at = services.campaigns.effective_times(campaign_id)[1]
    if selling_left and now < closes_at:
        schedule_check(services, campaign_id, now + section.every)


def check(services: Services, campaign: Campaign, now: datetime) -> tuple[list[Callable[[], None]], bool]:
    """In one write transaction: the board of now, written to each open group it changed for.
    Returns the steps that queue the posts (run them on the loop) and whether a group still sells."""
    section = campaign.leaderboard
    assert section is not None
    sell = selling(services)
    admits: list[Callable[[], None]] = []
    with sell.store.write() as conn:
        rows = conn.execute(
            select(GROUPS.c.group_id, GROUPS.c.status).where(GROUPS.c.campaign_id == campaign.id)
        ).all()
        statuses: dict[str, str] = {r[0]: r[1] for r in rows}
        groups = services.campaigns.groups_of(campaign)
        open_groups = [g for g in groups if statuses.get(g) == SaleStatus.OPEN]
        if open_groups:
            stock = sell.store.stock(campaign.id, conn)
            orders = sell.store.orders(campaign.id, conn=conn)
            board = compute(services, campaign, section, stock, orders)
            for group_id in open_groups:
                admit = post_if_changed(conn, services, campaign, group_id, board, now)
                if admit is not None:
                    admits.append(admit)
    selling_left = any(statuses.get(g, SaleStatus.SCHEDULED) != SaleStatus.CLOSED for g in groups)
    return admits, selling_left


__all__ = ["CHECK_JOB", "board_job_id", "check", "job_board", "schedule_check"]
