"""`/gifts` for leaders, and the 赠品 line of a member's 我的订单.

`/gifts` answers privately, like `/export`: the list carries members' names (as their orders
showed them, phone-like digits already starred) and is the pick list for handing the gifts
out, so it goes only to the leader who asked (checked by member id, `Role.LEADER`), never to
the group. A leader sees the holders of their own group; `/gifts all` (an admin) every group.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot.campaign import Campaign
from bot.context import Context, Services
from bot.events import GroupMessage
from bot.handler import command
from bot.vocab import Priority, Role
from handlers.gifts.reads import counts, gift_rows, member_gift
from handlers.selling.extras import ExtraProvider
from handlers.selling.leader import campaign_for_command

LIST_MAX = 200  # rows in one private message (WeChat messages have a length limit)


@command("gifts", "赠礼", role=Role.LEADER)
async def handle_gifts(msg: GroupMessage, ctx: Context) -> None:
    """/gifts [all] [活动ID] — 前N名下单赠礼名单（私聊发给团长，作提货时发赠品用）"""
    await ctx.services.settle()  # orders sent just before are committed (and gifted) first
    everywhere = bool(ctx.args and ctx.args[0].lower() == "all" and ctx.role >= Role.ADMIN)
    if ctx.args and ctx.args[0].lower() == "all":
        ctx.command = replace(ctx.command, args=ctx.args[1:]) if ctx.command else None
    found = campaign_for_command(ctx, msg)
    if found is None:
        return
    campaign = found[0]
    section = campaign.gifts
    if section is None:
        ctx.reply("gifts/none.j2", title=campaign.title, priority=Priority.COMMAND)
        return
    engine = ctx.repo.engine
    groups = None if everywhere else [msg.group_id]
    rows, figures = await asyncio.to_thread(
        lambda: (gift_rows(engine, campaign.id, groups), counts(engine, campaign.id))
    )
    names = {g: ctx.repo.group_name(g) for g in {r.group_id for r in rows}} if everywhere else {}
    ctx.send_private(
        msg.sender.id,
        "gifts/list.j2",
        title=campaign.title,
        gift=section.gift,
        first=section.first,
        given=figures.held,
        left=max(0, section.first - figures.given) + figures.free,  # N as the file says now
        passed=figures.passed,
        lost=figures.lost,
        rows=[
            {"seq": r.seq, "name": r.member_name, "group": names.get(r.group_id, ""), "passed": r.passed}
            for r in rows[:LIST_MAX]
        ],
        hidden=max(0, len(rows) - LIST_MAX),
        on_cancel_pass=section.on_cancel == "pass",
        priority=Priority.COMMAND,
    )


def gift_line_provider(services: Services) -> ExtraProvider:
    """我的订单's 赠品 line: the member's gift in the campaign, if they hold one."""

    def lines(campaign: Campaign, member_id: str, private: bool) -> list[str]:
        section = campaign.gifts
        if section is None:
            return []
        seq = member_gift(services.repo.engine, campaign.id, member_id)
        if seq is None:
            return []
        return [services.renderer.render("gifts/my_gift.j2", gift=section.gift, first=section.first, seq=seq)]

    lines.__qualname__ = "gift_line"
    return lines


__all__ = ["LIST_MAX", "gift_line_provider", "handle_gifts"]
