"""/board: a leader's (or admin's) private link to the live board.

Answered privately, wherever it is typed: the link opens the sale's figures, so it must not
land in a group. A leader's link covers the groups they lead (config or `/leader add`) when
they ask, an admin's every group; it expires after `web.link_minutes`. Without a board to
point at (`web.enabled` off and no `web.public_url` for a `tuanbot web` elsewhere) the reply
says so.
"""

from __future__ import annotations

from bot.context import Context
from bot.events import GroupMessage, PrivateMessage
from bot.handler import command
from bot.vocab import Priority, Role
from handlers.board.service import board_of


@command("board", "看板", role=Role.LEADER, private=True)
async def handle_board(msg: GroupMessage | PrivateMessage, ctx: Context) -> None:
    """/board — 实时看板链接（私聊发给你，限时有效；团长看自己的群，管理员看全部群）"""
    sender = msg.sender.id
    settings = ctx.config.web
    if not settings.enabled and not settings.public_url:
        ctx.send_private(sender, "board/off.j2", priority=Priority.COMMAND)
        return
    roles = ctx.services.roles
    admin = roles.role_of(sender) >= Role.ADMIN
    groups = None if admin else roles.leader_groups(sender)
    board = board_of(ctx.services)
    ctx.send_private(
        sender,
        "board/link.j2",
        url=board.link_for(sender, groups),
        minutes=settings.link_minutes,
        admin=admin,
        groups=[ctx.repo.group_name(g) for g in groups or []],
        priority=Priority.COMMAND,
    )
