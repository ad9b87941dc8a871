"""推荐有礼 in chat: invites from joins and codes, leaves, `我的邀请码` and `邀请排行`.

- A join the transport reports with an inviter records an invite for the group's referral
  campaign (one that is active there: from its first node until it closes). The welcome
  feature greets the newcomer; this handler only counts, and never stops the event.
- `我的邀请码` (in a group or privately) is answered privately with the member's code; a
  newcomer who sends `邀请码 K7F3Q2` binds its owner as their inviter, if they have none and
  the bot saw them arrive by a join in the last `BIND_WITHIN`. The answer is private too.
- A leave marks the invite (the anti-cheat's `left_early` rule reads it at close).
- `邀请排行` in a group posts the board, at most once a minute per group.

The matchers decide from memory (a length check and the normalised text); the bodies read and
write in a worker thread, so the event loop runs no statement.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime

from loguru import logger

from bot.ask_memory import AskMemory
from bot.campaign.active import ActiveCampaign, active_campaigns, campaigns_in_group
from bot.context import Context, Services
from bot.events import Event, GroupMessage, MemberJoined, MemberLeft, PrivateMessage
from bot.handler import on_event, on_message, on_private
from bot.view import MessageView
from bot.vocab import Priority
from handlers.referral.board import BOARD_ASK_AGAIN, masked, refresh, render_board
from handlers.referral.store import BOUND, ReferralStore

REFERRAL_PRIORITY = Priority.ORDER - 2
"""Before orders: `邀请码 K7F3Q2` must never be read as an order of a product coded K7."""

MY_CODE_WORDS = frozenset({"我的邀请码", "邀请码", "查邀请码", "我的推荐码"})
BOARD_WORDS = frozenset({"邀请排行", "邀请排行榜", "邀请榜", "推荐排行"})
BIND_RE = re.compile(r"^(?:邀请码|推荐码)[:：]?([0-9a-z]{6})$")
LONGEST = 16


def store_of(services: Services) -> ReferralStore:
    return services.get_or_make(ReferralStore, lambda: ReferralStore(services.repo.engine))


def referral_campaign(services: Services, group_id: str, at: datetime) -> ActiveCampaign | None:
    """The group's campaign with an enabled `referral:` section that is active at `at`."""
    for active in active_campaigns(services, group_id, at):
        section = active.campaign.referral
        if section is not None and section.enabled:
            return active
    return None


def latest_referral_campaign(services: Services, group_id: str, now: datetime) -> ActiveCampaign | None:
    """The active referral campaign of the group, else the one that closed last (for its board)."""
    live = referral_campaign(services, group_id, now)
    if live is not None:
        return live
    closed = [
        a
        for a in campaigns_in_group(services, group_id)
        if a.campaign.referral is not None and a.campaign.referral.enabled and a.closes_at <= now
    ]
    return max(closed, key=lambda a: a.closes_at, default=None)


def _short(view: MessageView) -> bool:
    return len(view.text) <= LONGEST


def match_my_code(event: Event, view: MessageView) -> bool | None:
    return True if _short(view) and view.core in MY_CODE_WORDS else None


def match_bind(event: Event, view: MessageView) -> str | None:
    if not _short(view):
        return None
    found = BIND_RE.match(view.normalized)
    return found.group(1).upper() if found else None


def match_board(event: Event, view: MessageView) -> bool | None:
    return True if _short(view) and view.core in BOARD_WORDS else None


@on_event(MemberJoined)
async def handle_join(event: MemberJoined, ctx: Context) -> bool:
    """Newcomers the transport says were invited: each an invite, when new to every group."""
    inviter = event.inviter
    services = ctx.services
    if inviter is None or inviter.id == services.config.bot.id:
        return False
    active = referral_campaign(services, event.group_id, event.time)
    if active is None:
        return False
    store = store_of(services)
    recorded = False
    for member in event.members:
        if member.id in (inviter.id, services.config.bot.id):
            continue
        done = await asyncio.to_thread(
            store.record_join,
            active.campaign.id,
            event.group_id,
            member.id,
            member.name,
            inviter.id,
            inviter.name,
            event.time,
        )
        logger.bind(campaign=active.campaign.id, group=event.group_id, member=member.id).info(
            "referral: join by {}: {}", inviter.id, "invite" if done else "not new or already invited"
        )
        recorded = recorded or done is not None
    if recorded:
        await refresh(services, active.campaign, event.group_id)
    return False


@on_event(MemberLeft)
async def handle_left(event: MemberLeft, ctx: Context) -> bool:
    """An invitee left: remember when (`left_early`), and the board loses them."""
    services = ctx.services
    if referral_campaign(services, event.group_id, event.time) is None:
        return False
    changed = await asyncio.to_thread(
        store_of(services).note_leave, event.group_id, [m.id for m in event.members], event.time
    )
    for campaign_id, group_id in changed:
        active = referral_campaign(services, group_id, event.time)
        if active is not None and active.campaign.id == campaign_id:
            await refresh(services, active.campaign, group_id)
    return False


async def _tell_code(ctx: Context, member_id: str, name: str, group_id: str) -> None:
    now = ctx.clock.now()
    code = await asyncio.to_thread(store_of(ctx.services).code_of, member_id, now)
    active = referral_campaign(ctx.services, group_id, now) if group_id else None
    section = active.campaign.referral if active is not None else None
    ctx.send_private(
        member_id,
        "referral/my_code.j2",
        priority=Priority.CHATTER,
        name=name,
        code=code,
        title=active.campaign.title if active is not None else "",
        section=section,
    )


@on_message(priority=REFERRAL_PRIORITY, match=match_my_code, words=MY_CODE_WORDS, longest=LONGEST)
async def handle_my_code(msg: GroupMessage, ctx: Context) -> bool:
    """我的邀请码 in a group: the member's invite code, privately."""
    await _tell_code(ctx, msg.sender.id, msg.sender.name, msg.group_id)
    return True


@on_private(priority=REFERRAL_PRIORITY, match=match_my_code)
async def handle_my_code_privately(msg: PrivateMessage, ctx: Context) -> bool:
    """我的邀请码 sent to the bot directly: the same answer."""
    await _tell_code(ctx, msg.sender.id, msg.sender.name, "")
    return True


async def _bind(ctx: Context, member_id: str, name: str, code: str) -> None:
    services = ctx.services

    def campaign_in(group_id: str, at: datetime) -> str | None:
        active = referral_campaign(services, group_id, at)
        return active.campaign.id if active is not None else None

    now = ctx.clock.now()
    bound = await asyncio.to_thread(store_of(services).bind, member_id, name, code, now, campaign_in)
    logger.bind(member=member_id).info("referral: code {}: {}", code, bound.status)
    ctx.send_private(
        member_id,
        "referral/bound.j2",
        priority=Priority.CHATTER,
        name=name,
        status=bound.status,
        inviter=masked(bound.inviter_name) if bound.inviter_name else "",
    )
    if bound.status == BOUND and bound.recorded is not None:
        active = referral_campaign(services, bound.recorded.group_id, now)
        if active is not None:
            await refresh(services, active.campaign, bound.recorded.group_id)


@on_message(priority=REFERRAL_PRIORITY, match=match_bind)
async def handle_bind(msg: GroupMessage, ctx: Context) -> bool:
    """邀请码 K7F3Q2 in a group: a newcomer names who invited them (answered privately)."""
    await _bind(ctx, msg.sender.id, msg.sender.name, ctx.intent)
    return True


@on_private(priority=REFERRAL_PRIORITY, match=match_bind)
async def handle_bind_privately(msg: PrivateMessage, ctx: Context) -> bool:
    """邀请码 K7F3Q2 sent to the bot directly: the same."""
    await _bind(ctx, msg.sender.id, msg.sender.name, ctx.intent)
    return True


@on_message(priority=REFERRAL_PRIORITY, match=match_board, words=BOARD_WORDS, longest=LONGEST)
async def handle_board(msg: GroupMessage, ctx: Context) -> bool:
    """邀请排行 in a group: the group's invite board (at most once a minute per group)."""
    services = ctx.services
    now = ctx.clock.now()
    active = latest_referral_campaign(services, msg.group_id, now)
    asked = services.get_or_make(AskMemory, AskMemory)
    if active is None or not asked.may_answer(f"invite-board:{msg.group_id}", now, again=BOARD_ASK_AGAIN):
        return True
    section = active.campaign.referral
    assert section is not None
    rows = await asyncio.to_thread(
        store_of(services).board, active.campaign.id, msg.group_id, section.board.top
    )
    text = render_board(services, active.campaign, rows, final=now >= active.closes_at)
    services.outbox.enqueue(text, group_id=msg.group_id, priority=Priority.CHATTER, kind="referral_ask")
    return True


__all__ = [
    "handle_bind",
    "handle_board",
    "handle_join",
    "handle_left",
    "handle_my_code",
    "latest_referral_campaign",
    "match_bind",
    "match_board",
    "match_my_code",
    "referral_campaign",
    "store_of",
]
