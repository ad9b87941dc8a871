"""/pickups: what is still waiting at a clerk's (or a leader's) pickup points.

Per loaded campaign and point: how many codes are not picked up yet and whose (safe display
names only, never codes). Always answered privately: a list of who has not collected is not
for the group.
"""

from __future__ import annotations

import asyncio
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, select

from bot.context import Context, Services
from bot.events import GroupMessage, PrivateMessage
from bot.handler import command
from bot.vocab import Priority
from handlers.fulfilment.clerks import is_clerk
from handlers.fulfilment.pickup_chat import clerk_points
from handlers.fulfilment.pickup_tables import CODES
from handlers.fulfilment.points import leader_points, loaded_campaigns
from handlers.selling.parse import safe_name
from handlers.selling.tables import ACTIVE, ORDERS

SHOWN_NAMES = 60


@dataclass(frozen=True)
class Waiting:
    """The codes of one campaign at one point that are not picked up yet."""

    title: str
    point: str
    names: list[str]  # safe display names, in order of issue

    @property
    def count(self) -> int:
        return len(self.names)


def waiting_at(services: Services, points: set[str] | None) -> list[Waiting]:
    """Not-picked-up codes of the loaded campaigns at `points` (None: every point), by campaign and point."""
    campaigns = {c.id: c for c in loaded_campaigns(services)}
    if not campaigns:
        return []
    query = (
        select(CODES.c.campaign_id, CODES.c.point, CODES.c.member_id)
        .where(CODES.c.campaign_id.in_(campaigns), CODES.c.picked_at.is_(None))
        .order_by(CODES.c.campaign_id, CODES.c.point, CODES.c.id)
    )
    if points is not None:
        query = query.where(CODES.c.point.in_(points))
    with services.repo.engine.connect() as conn:
        rows = conn.execute(query).all()
        names: dict[str, str] = {}
        if rows:
            query_names = (
                select(ORDERS.c.member_id, func.max(ORDERS.c.member_name))
                .where(ORDERS.c.campaign_id.in_({r[0] for r in rows}), ORDERS.c.status == ACTIVE)
                .group_by(ORDERS.c.member_id)
            )
            names = {r[0]: r[1] for r in conn.execute(query_names).all()}
    grouped: dict[tuple[str, str], list[str]] = {}
    for campaign_id, point, member_id in rows:
        grouped.setdefault((campaign_id, point), []).append(safe_name(names.get(member_id) or member_id))
    return [Waiting(campaigns[cid].title, point, found) for (cid, point), found in grouped.items()]


def scope(services: Services, member_id: str) -> set[str] | None:
    """The points a member may list: a clerk's, plus a leader's groups' (None: an admin, every point)."""
    mine = clerk_points(services, member_id)
    if mine is None:
        return None
    return mine | leader_points(services, member_id)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().upper()


@command("pickups", "未取货", private=True, listed_for=is_clerk)
async def handle_pickups(msg: GroupMessage | PrivateMessage, ctx: Context) -> None:
    """/pickups [自提点] — 核销员、团长私聊查看自提点还有谁没取货"""
    sender = msg.sender.id
    points = scope(ctx.services, sender)
    if points is not None and not points:
        ctx.send_private(sender, "pickup/not_clerk.j2", priority=Priority.COMMAND)
        return
    wanted = _norm(" ".join(ctx.args))
    found = await asyncio.to_thread(waiting_at, ctx.services, points)
    if wanted:
        found = [w for w in found if wanted in _norm(w.point)]
    ctx.send_private(
        sender,
        "pickup/pickups.j2",
        waiting=found,
        wanted=wanted,
        shown=SHOWN_NAMES,
        priority=Priority.COMMAND,
    )


__all__ = ["Waiting", "handle_pickups", "scope", "waiting_at"]
