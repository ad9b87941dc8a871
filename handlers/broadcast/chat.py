"""`/broadcast` in chat, and members' replies with a group's tracking code.

`/broadcast WHEN TARGET TEXT` stores the broadcast, sends its author a private preview (the
post as the first group gets it, the groups, the time, the id), then sends it now or schedules
it (handlers/broadcast/jobs.py). `/broadcast list` and `/broadcast cancel ID` answer privately.
The reply matcher runs on the loop for every group message: a length check, a regex over the
text, and dictionary lookups in the codes held in memory; the reply row is written behind.
"""

from __future__ import annotations

import asyncio
import re

from loguru import logger
from sqlalchemy import insert

from bot.context import Context
from bot.events import Event, GroupMessage
from bot.handler import command, on_message
from bot.storage.rowops import RowOp
from bot.view import MessageView
from bot.vocab import Priority, Role
from handlers.broadcast import jobs
from handlers.broadcast.links import urls_in
from handlers.broadcast.service import CODE_LENGTH, Broadcasts, broadcasts_of, reply_row
from handlers.broadcast.tables import CANCELLED, PENDING, REPLIES
from handlers.broadcast.targets import resolve
from handlers.broadcast.when import parse_when

LONGEST_REPLY = 60
"""A longer message is chatter, not a reply to a broadcast (keeps the matcher cheap)."""
_TOKEN = re.compile(rf"(?<![0-9A-Za-z])[0-9A-Za-z]{{{CODE_LENGTH}}}(?![0-9A-Za-z])")
REPLY_PRIORITY = Priority.ORDER + 15  # after orders: `A1 2` is never a code


def match_code(event: Event, view: MessageView) -> tuple[str, int] | None:
    """(code, broadcast id) when the message carries one of its group's codes (memory only)."""
    if not isinstance(event, GroupMessage) or len(view.text) > LONGEST_REPLY:
        return None
    book = view.services.find(Broadcasts)
    if book is None:
        return None
    return book.code_in(event.group_id, [t.upper() for t in _TOKEN.findall(view.text)])


@on_message(priority=REPLY_PRIORITY, match=match_code)
async def handle_code_reply(msg: GroupMessage, ctx: Context) -> bool:
    """A member replies with the group's code (回复 XXXXX 报名): counted for the group."""
    code, broadcast_id = ctx.intent
    ctx.services.write_behind(
        RowOp(insert(REPLIES), reply_row(broadcast_id, msg.group_id, msg.sender.id, msg.time))
    )
    logger.bind(group=msg.group_id, broadcast=broadcast_id).debug("broadcast reply {}", code)
    return True


@command("broadcast", "群发", role=Role.LEADER, private=True)
async def handle_broadcast(msg: GroupMessage, ctx: Context) -> None:
    """/broadcast 时间 #标签|群ID|all 内容 · list · cancel 编号 — 定时群发（团长限自己的群）"""
    args = ctx.args
    action = args[0].lower() if args else ""
    if action in ("list", "列表") and len(args) == 1:
        await _list(ctx)
        return
    if action in ("cancel", "取消"):
        if len(args) != 2 or not args[1].lstrip("#").isdigit():
            ctx.usage()
            return
        await _cancel(ctx, int(args[1].lstrip("#")))
        return
    raw = ctx.command.raw_args if ctx.command else ""
    parts = raw.split(maxsplit=2)
    now = ctx.clock.now()
    due = parse_when(parts[0], now, ctx.config.bot.timezone) if parts else None
    if len(parts) < 3 or due is None:
        ctx.usage()
        return
    author, target_word, text = ctx.sender_id, parts[1], parts[2].strip()
    targets = resolve(ctx.config, ctx.services.roles, author, target_word)
    if targets.unknown or targets.admins_only or targets.refused:
        ctx.reply(
            "broadcast/refused.j2",
            priority=Priority.COMMAND,
            mention=True,
            target=target_word,
            unknown=targets.unknown,
            admins_only=targets.admins_only,
            refused=[ctx.repo.group_name(g) for g in targets.refused],
            led=[ctx.repo.group_name(g) for g in ctx.services.roles.leader_groups(author)],
        )
        return
    later = due > now
    if later and ctx.running_campaigns() is None:
        return  # no scheduler in this process: it said so
    if ctx.refused_claims("群发", text):
        return
    book = broadcasts_of(ctx.services)
    broadcast_id, codes = await asyncio.to_thread(
        book.create, author, text, target_word, targets.groups, due, now
    )
    first = targets.groups[0]
    sample = await asyncio.to_thread(book.render_post, text, first, codes[first])
    names = [ctx.repo.group_name(g) for g in targets.groups]
    ctx.send_private(
        author,
        "broadcast/preview.j2",
        priority=Priority.COMMAND,
        id=broadcast_id,
        due=due,
        later=later,
        groups=names,
        sample=sample,
        sample_group=names[0],
    )
    logger.bind(broadcast=broadcast_id, author=author).info(
        "broadcast created for {} groups, due {}", len(targets.groups), due.isoformat()
    )
    if later:
        jobs.schedule(ctx.services, broadcast_id, due)
    else:
        await jobs.send_now(ctx.services, broadcast_id)


async def _list(ctx: Context) -> None:
    author = ctx.sender_id
    admin = author in ctx.config.admins
    book = broadcasts_of(ctx.services)
    rows = await asyncio.to_thread(book.rows, author_id=None if admin else author, limit=10)
    lines = [
        {
            "id": r.id,
            "due": r.due_at,
            "status": r.status,
            "target": r.target,
            "groups": len(r.groups),
            "replies": sum(r.replies.values()),
            "clicks": sum(r.clicks.values()),
            "linked": bool(urls_in(r.text)) and book.link_base() is not None,
            "campaign": r.campaign_id,
        }
        for r in rows
    ]
    ctx.send_private(author, "broadcast/list.j2", priority=Priority.COMMAND, rows=lines, pending=PENDING)


async def _cancel(ctx: Context, broadcast_id: int) -> None:
    author = ctx.sender_id
    book = broadcasts_of(ctx.services)
    outcome = await asyncio.to_thread(book.cancel, broadcast_id, author, author in ctx.config.admins)
    if outcome == CANCELLED:
        jobs.unschedule(ctx.services, broadcast_id)
    logger.bind(broadcast=broadcast_id, by=author).info("broadcast cancel: {}", outcome)
    ctx.send_private(
        author, "broadcast/cancelled.j2", priority=Priority.COMMAND, id=broadcast_id, outcome=outcome
    )


__all__ = ["handle_broadcast", "handle_code_reply", "match_code"]
