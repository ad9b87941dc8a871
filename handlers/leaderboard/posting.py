"""Posting a board to a group exactly when its figures changed, in the caller's transaction.

The decision is one conditional upsert of the group's `leaderboard_posts` row (ON CONFLICT DO
UPDATE … WHERE digest differs): its row count says whether this board is new to the group, so a
broadcast and the periodic job deciding at once on PostgreSQL still post once (the second waits
for the first's row lock and then finds the digest equal). The outbox row is written in the same
transaction (`Outbox.enqueue_in`); the returned step queues it once that transaction commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from loguru import logger
from sqlalchemy.engine import Connection

from bot.campaign import Campaign
from bot.campaign.leaderboard_models import LiveBoard
from bot.context import Services
from bot.group_filter import mask_group_text
from bot.outbox import Draft
from bot.storage.engine import upsert_insert
from bot.vocab import Priority
from handlers.leaderboard.board import Board, board_of
from handlers.leaderboard.tables import POSTS
from handlers.selling.ops import OrderView, StockLine

BOARD_PRIORITY = Priority.CAMPAIGN + 1  # right after a broadcast's own stock post
BOARD_KIND = "leaderboard"


def compute(
    services: Services,
    campaign: Campaign,
    section: LiveBoard,
    stock: Sequence[StockLine],
    orders: Sequence[OrderView],
) -> Board:
    """The campaign's board from figures already read (group names masked as group posts are)."""
    groups = services.campaigns.groups_of(campaign)
    names = {g: mask_group_text(services.repo.group_name(g)) for g in groups}
    return board_of(section, stock, orders, groups, names)


def post_if_changed(
    conn: Connection, services: Services, campaign: Campaign, group_id: str, board: Board, now: datetime
) -> Callable[[], None] | None:
    """Write the board's outbox row for `group_id` if it differs from the group's last board;
    the step that queues it after the commit, or None (unchanged, empty, or not renderable)."""
    if board.empty:
        return None
    digest = board.digest()
    try:
        text = services.renderer.render(
            "leaderboard/board.j2",
            bot_name=services.config.bot.name,
            title=campaign.title,
            board=board,
            here=group_id,
        )
    except Exception:
        logger.bind(campaign=campaign.id, group=group_id).opt(exception=True).error(
            "leaderboard: could not render the board"
        )
        return None
    insert = upsert_insert(conn)
    changed = conn.execute(
        insert(POSTS)
        .values(campaign_id=campaign.id, group_id=group_id, digest=digest, posts=1, posted_at=now)
        .on_conflict_do_update(
            index_elements=[POSTS.c.campaign_id, POSTS.c.group_id],
            set_={"digest": digest, "posts": POSTS.c.posts + 1, "posted_at": now},
            where=POSTS.c.digest != digest,
        )
    ).rowcount
    if changed != 1:
        return None
    draft = Draft(text=text, group_id=group_id, priority=BOARD_PRIORITY, kind=BOARD_KIND)
    _ids, admit = services.outbox.enqueue_in(conn, [draft])
    logger.bind(campaign=campaign.id, group=group_id).info("leaderboard: posted")
    return admit


__all__ = ["BOARD_KIND", "BOARD_PRIORITY", "compute", "post_if_changed"]
