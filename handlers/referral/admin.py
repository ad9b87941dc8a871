"""`/referral held | pay ID | reject ID`: the admins decide the invites anti-cheat held.

Admins only, by member id (`config.yaml` `admins`, through `bot.roles`); the answer is always
private, in a group too, because it names members. Paying a held invite credits it as the close
would have (both sides, the inviter's new ladder rungs; each payout once, by its key) in one
transaction; the members paid are told privately. Rejecting it pays nothing. Either works once:
an invite no longer held is reported as such, so two admins racing on one id decide it once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loguru import logger
from sqlalchemy import update

from bot.campaign.active import campaigns_in_group
from bot.context import Context, Services
from bot.events import GroupMessage
from bot.handler import command
from bot.vocab import Priority, Role
from handlers.orderguard.signals import mask_member
from handlers.points.ledger import points_of
from handlers.referral.chat import store_of
from handlers.referral.payout import Paid, credit, plan_of
from handlers.referral.tables import HELD, INVITES, REJECTED

PAID = "paid"
REFUSED = "rejected"
NOT_FOUND = "not_found"
NOT_HELD = "not_held"
NO_CAMPAIGN = "no_campaign"


@dataclass(frozen=True)
class Decision:
    status: str
    invite: Any = None
    paid: tuple[Paid, ...] = ()
    title: str = ""


def _pay(services: Services, invite_id: int, admin: str, now: datetime) -> Decision:
    store = store_of(services)
    found = store.invite(invite_id)
    if found is None:
        return Decision(NOT_FOUND)
    if found.status != HELD:
        return Decision(NOT_HELD, found)
    active = next(
        (a for a in campaigns_in_group(services, found.group_id) if a.campaign.id == found.campaign_id), None
    )
    if active is None or active.campaign.referral is None:
        return Decision(NO_CAMPAIGN, found)
    plan = plan_of(active, now)
    with store.engine.begin() as conn:
        paid = credit(conn, points_of(services), found, plan, now, admin)
    if paid is None:
        return Decision(NOT_HELD, found)  # another admin decided it meanwhile
    return Decision(PAID, found, tuple(paid), active.campaign.title)


def _reject(services: Services, invite_id: int, admin: str, now: datetime) -> Decision:
    store = store_of(services)
    found = store.invite(invite_id)
    if found is None:
        return Decision(NOT_FOUND)
    with store.engine.begin() as conn:
        moved = conn.execute(
            update(INVITES)
            .where(INVITES.c.id == invite_id, INVITES.c.status == HELD)
            .values(status=REJECTED, decided_at=now, decided_by=admin)
        ).rowcount
    return Decision(REFUSED if moved == 1 else NOT_HELD, found)


def held_lines(services: Services) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "campaign": r.campaign_id,
            "invitee": mask_member(r.member_name, r.member_id),
            "inviter": mask_member(r.inviter_name, r.by_id),
            "reasons": [x for x in r.reasons.split(",") if x],
            "joined_at": r.joined_at,
        }
        for r in store_of(services).held()
    ]


@command("referral", "邀请", role=Role.ADMIN, private=True)
async def handle_referral(msg: GroupMessage, ctx: Context) -> None:
    """/referral held | pay 编号 | reject 编号 — 查看或处理风控暂扣的邀请（管理员）"""
    args = ctx.args
    action = args[0].lower() if args else "held"
    services, admin, now = ctx.services, ctx.sender_id, ctx.clock.now()
    if action == "held" and len(args) <= 1:
        lines = await asyncio.to_thread(held_lines, services)
        ctx.send_private(admin, "referral/held_list.j2", priority=Priority.COMMAND, held=lines)
        return
    if action not in ("pay", "reject") or len(args) != 2 or not args[1].lstrip("#").isdigit():
        ctx.usage()
        return
    invite_id = int(args[1].lstrip("#"))
    decide = _pay if action == "pay" else _reject
    decision = await asyncio.to_thread(decide, services, invite_id, admin, now)
    logger.bind(invite=invite_id, admin=admin).info("referral: {} -> {}", action, decision.status)
    ctx.send_private(
        admin,
        "referral/decided.j2",
        priority=Priority.COMMAND,
        invite_id=invite_id,
        status=decision.status,
        paid=list(decision.paid),
    )
    by_member: dict[str, list[Paid]] = {}
    for item in decision.paid:
        by_member.setdefault(item.member_id, []).append(item)
    for member_id, items in sorted(by_member.items()):
        ctx.send_private(
            member_id, "referral/paid.j2", priority=Priority.CHATTER, title=decision.title, items=items
        )


__all__ = ["handle_referral", "held_lines"]
