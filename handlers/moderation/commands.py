"""Leaders' moderation commands: /mute, /unmute, /kick (in the group), /modlog (answered privately).

Leaders act in the groups they lead, admins anywhere; nobody acts against a leader of the group
or an admin (refused with a reply saying so). Each action goes into the audit log. Removal goes
through the transport (`Transport.remove_member`); where it cannot remove (WeChat lets only the
group's owner do it), the leader is told to remove the member by hand, and that is logged too.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from bot.context import Context
from bot.events import GroupMessage, PrivateMessage
from bot.handler import command
from bot.privacy import mask_contacts
from bot.transports.base import remove_member
from bot.vocab import Priority, Role
from handlers.admin.roles import member_targets
from handlers.moderation import audit
from handlers.moderation.chat import moderation_of
from handlers.moderation.service import MUTE_LONGEST

DURATION_RE = re.compile(r"^(\d{1,4})\s*(m|min|分钟?|h|小时|d|天)$", re.IGNORECASE)
UNITS = {"m": 60, "min": 60, "分": 60, "分钟": 60, "h": 3600, "小时": 3600, "d": 86400, "天": 86400}
DEFAULT_MUTE = timedelta(hours=1)


def parse_duration(token: str) -> timedelta | None:
    """`30m`, `1h`, `2d`, `1小时` -> a timedelta (at most `MUTE_LONGEST`); None if not a duration."""
    match = DURATION_RE.match(token.strip())
    if match is None or int(match.group(1)) == 0:
        return None
    return min(timedelta(seconds=int(match.group(1)) * UNITS[match.group(2).lower()]), MUTE_LONGEST)


def _targets(msg: GroupMessage, ctx: Context, words: tuple[str, ...]) -> list[str] | None:
    """The members a command names, minus the exempt (refused with a reply); None: malformed."""
    targets, bad = member_targets(msg, words)
    if bad or not targets:
        ctx.usage()
        return None
    allowed = []
    for target in targets:
        if ctx.services.roles.role_of(target, msg.group_id) > Role.MEMBER:
            ctx.reply(
                "moderation/refused_exempt.j2", member_id=target, mention=True, priority=Priority.COMMAND
            )
        else:
            allowed.append(target)
    return allowed


@command("mute", "禁言", role=Role.LEADER)
async def handle_mute(msg: GroupMessage, ctx: Context) -> None:
    """/mute @成员 [1h] — 禁言：其消息不再被机器人处理，每条都记一次违规（团长）"""
    args = ctx.args
    duration = parse_duration(args[-1]) if args else None
    words = args[:-1] if duration is not None else args
    targets = _targets(msg, ctx, words)
    if not targets:
        return
    now = ctx.clock.now()
    until = now + (duration or DEFAULT_MUTE)
    moderation = moderation_of(ctx.services)
    for target in targets:
        moderation.mutes.mute((msg.group_id, target), until)
        audit.record(ctx.services, msg.group_id, target, "mute", now, by_id=msg.sender.id, until=until)
    ctx.reply("moderation/muted.j2", members=targets, until=until, priority=Priority.COMMAND)


@command("unmute", "解除禁言", role=Role.LEADER)
async def handle_unmute(msg: GroupMessage, ctx: Context) -> None:
    """/unmute @成员 — 解除禁言（团长）"""
    targets = _targets(msg, ctx, ctx.args)
    if not targets:
        return
    now = ctx.clock.now()
    moderation = moderation_of(ctx.services)
    for target in targets:
        moderation.mutes.unmute((msg.group_id, target))
        moderation.ladder.forget((msg.group_id, target))
        audit.record(ctx.services, msg.group_id, target, "unmute", now, by_id=msg.sender.id)
    ctx.reply("moderation/unmuted.j2", members=targets, priority=Priority.COMMAND)


@command("kick", "踢出", "移出", role=Role.LEADER)
async def handle_kick(msg: GroupMessage, ctx: Context) -> None:
    """/kick @成员 — 将成员移出本群（团长；机器人须是群主，否则请手动移出）"""
    targets = _targets(msg, ctx, ctx.args)
    if not targets:
        return
    now = ctx.clock.now()
    moderation = moderation_of(ctx.services)
    for target in targets:
        removed = await remove_member(ctx.services.outbox.transport, msg.group_id, target)
        action = "kick" if removed else "kick_failed"
        if removed:
            moderation.forget((msg.group_id, target))
        audit.record(ctx.services, msg.group_id, target, action, now, by_id=msg.sender.id)
        ctx.send_private(
            msg.sender.id,
            "moderation/kicked.j2",
            member_id=target,
            name=mask_contacts(ctx.repo.member_name(target) or target),
            group_name=msg.group_name or msg.group_id,
            removed=removed,
            priority=Priority.COMMAND,
        )


@command("modlog", "管理记录", role=Role.LEADER, private=True)
async def handle_modlog(msg: GroupMessage | PrivateMessage, ctx: Context) -> None:
    """/modlog — 本群（私聊时：你管理的所有群）的群管记录，私聊发给你（团长）"""
    sender = msg.sender.id
    roles = ctx.services.roles
    if isinstance(msg, GroupMessage):
        groups: list[str] | None = [msg.group_id]
    else:
        groups = None if roles.role_of(sender) >= Role.ADMIN else roles.leader_groups(sender)
    await ctx.services.written_behind("moderation: audit log")
    entries = await asyncio.to_thread(audit.recent, ctx.repo.engine, groups)
    ctx.send_private(
        sender, "moderation/modlog.j2", entries=entries, groups=groups, priority=Priority.COMMAND
    )
