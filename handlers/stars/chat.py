"""活跃之星 in chat: leaders' helpful marks, and a member's look at this week's standings.

`/helpful @成员` or `/赞 名字` is a leader's command (rights by id, from config and `/leader add`,
never by display name: a member renamed to a leader's name is refused by the router). The name
is resolved among the group's current members (`handlers.stars.marks`). The group hears one
short thanks; refusals go to the leader privately.

`活跃之星` (and its variants) is answered privately, like 我的积分: the group's top 3 this week,
names masked, and the asker's own counts. Chatter never reaches the body: the matcher is a
length check and a set lookup on the view's normalised text.
"""

from __future__ import annotations

import asyncio
from typing import Any
from zoneinfo import ZoneInfo

from bot.ask_memory import AskMemory
from bot.context import Context, Services
from bot.events import Event, GroupMessage
from bot.handler import command, on_message
from bot.privacy import mask_name
from bot.view import MessageView
from bot.vocab import Priority, Role
from handlers.selling.parse import safe_name
from handlers.stars.marks import mark, members_named, name_of
from handlers.stars.scoring import Standing, standings
from handlers.stars.weeks import Week, current_week

STANDINGS_WORDS = frozenset({"活跃之星", "本周活跃之星", "活跃榜", "活跃之星榜", "本周之星"})
LONGEST = 12
STARS_PRIORITY = Priority.ORDER + 13  # beside 签到 and 我的积分, well before the FAQ
SHOWN = 3


def match_standings(event: Event, view: MessageView) -> bool | None:
    """活跃之星 and its variants, while the loop is on (from memory)."""
    if not view.services.config.stars.enabled or len(view.text) > LONGEST:
        return None
    return True if view.core in STANDINGS_WORDS else None


@on_message(priority=STARS_PRIORITY, match=match_standings, words=STANDINGS_WORDS, longest=LONGEST)
async def handle_standings(msg: GroupMessage, ctx: Context) -> bool:
    """活跃之星: this week's top 3 of the group and the asker's own score, privately."""
    services = ctx.services
    now = ctx.clock.now()
    if not services.get_or_make(AskMemory, AskMemory).may_answer(f"stars:{msg.sender.id}", now):
        return True
    week = current_week(services.config.stars, now, services.config.bot.timezone)
    await asyncio.to_thread(services.flush_inbound)  # the names shown are written behind
    ranked = await asyncio.to_thread(_standings, services, msg.group_id, week)
    mine = next((s for s in ranked if s.member_id == msg.sender.id), None)
    top = await asyncio.to_thread(_shown, services, ranked[:SHOWN])
    ctx.send_private(
        msg.sender.id,
        "stars/standings.j2",
        priority=Priority.CHATTER,
        top=top,
        mine=mine,
        rank=ranked.index(mine) + 1 if mine is not None else 0,
        week=week,
        settings=services.config.stars,
        group_name=msg.group_name or services.repo.group_name(msg.group_id),
    )
    return True


def _standings(services: Services, group_id: str, week: Week) -> list[Standing]:
    with services.repo.engine.connect() as conn:
        return standings(conn, services.config.stars.weights, week, [group_id]).get(group_id, [])


def _shown(services: Services, ranked: list[Standing]) -> list[dict[str, Any]]:
    engine = services.repo.engine
    return [{"name": mask_name(name_of(engine, s.member_id)), "score": s.score} for s in ranked]


@command("helpful", "赞", role=Role.LEADER)
async def handle_helpful(msg: GroupMessage, ctx: Context) -> None:
    """/helpful @成员 或 /赞 名字 — 记一次热心解答，计入本周活跃之星（团长）"""
    services = ctx.services
    settings = services.config.stars
    if not settings.enabled or not settings.weights.helpful:
        _refuse(ctx, msg, "off")
        return
    engine = services.repo.engine
    await asyncio.to_thread(services.flush_inbound)  # members' names and memberships are written behind
    mentioned = tuple(dict.fromkeys(m for m in msg.mentions if m))
    name = " ".join(ctx.args).strip().lstrip("@＠").strip()  # a typed @name that is no real mention
    if len(mentioned) > 1 or (not mentioned and not name):
        _refuse(ctx, msg, "usage")
        return
    if mentioned:
        target = mentioned[0]
    else:
        found = await asyncio.to_thread(members_named, engine, msg.group_id, name)
        if len(found) != 1:
            _refuse(ctx, msg, "unknown" if not found else "ambiguous", name=name, count=len(found))
            return
        target = found[0]
    if target == msg.sender.id:
        _refuse(ctx, msg, "self")
        return
    now = ctx.clock.now()
    day = now.astimezone(ZoneInfo(services.config.bot.timezone)).date().isoformat()
    fresh = await asyncio.to_thread(mark, engine, msg.group_id, target, msg.sender.id, day, now)
    shown = safe_name(await asyncio.to_thread(name_of, engine, target))
    if not fresh:
        _refuse(ctx, msg, "again", name=shown)
        return
    ctx.reply("stars/helpful_marked.j2", priority=Priority.CHATTER, name=shown)


def _refuse(ctx: Context, msg: GroupMessage, reason: str, **variables: Any) -> None:
    ctx.send_private(
        msg.sender.id, "stars/helpful_refused.j2", priority=Priority.COMMAND, reason=reason, **variables
    )


__all__ = ["handle_helpful", "handle_standings", "match_standings"]
