"""/clerk: a group's leaders (and admins) name the pickup clerks (核销员) of its pickup points.

Rights go by member id: the clerk is named by an @-mention (the id the network gave) or a typed
id, never by a display name, so a member renamed to someone else's name gains nothing. The point
is typed in part (`东门`) and matched against the pickup points of the campaigns running in the
group; a point that is unknown or ambiguous gets a reply listing the points.
"""

from __future__ import annotations

from bot.campaign.models import PickupPoint
from bot.context import Context
from bot.events import GroupMessage
from bot.handler import command
from bot.vocab import Priority, Role
from handlers.admin.roles import MEMBER_ID_RE
from handlers.fulfilment.clerks import clerk_book
from handlers.fulfilment.points import group_campaigns, match_point, points_in


def split_args(msg: GroupMessage, args: tuple[str, ...]) -> tuple[list[str], list[str], str]:
    """(member ids, typed tokens that cannot be ids, the point text) of `/clerk add|remove ...`.

    With @-mentions the ids are the mentions and the point is the last word that is not a
    mention; without, the words after the action are ids and the last one is the point.
    """
    rest = list(args[1:])
    if msg.mentions:
        words = [w for w in rest if not w.startswith("@")]
        return list(dict.fromkeys(msg.mentions)), [], words[-1] if words else ""
    point = rest.pop() if len(rest) > 1 else ""
    typed = [w.lstrip("@") for w in rest if w.lstrip("@")]
    bad = [t for t in typed if not MEMBER_ID_RE.fullmatch(t)]
    return [t for t in typed if MEMBER_ID_RE.fullmatch(t)], bad, point


@command("clerk", "核销员", role=Role.LEADER)
async def handle_clerk(msg: GroupMessage, ctx: Context) -> None:
    """/clerk add @成员 自提点 | remove @成员 [自提点] | list — 设置本群自提点的核销员（团长）"""
    action = ctx.args[0].lower() if ctx.args else ""
    book = clerk_book(ctx.services)
    points = points_in(group_campaigns(ctx.services, msg.group_id))
    if action == "list":
        clerks = [
            (c.point, c.member_id, ctx.repo.member_name(c.member_id)) for c in book.in_group(msg.group_id)
        ]
        ctx.reply("pickup/clerk_list.j2", clerks=clerks, points=points, priority=Priority.COMMAND)
        return
    if action not in {"add", "remove"}:
        ctx.usage()
        return
    targets, bad, wanted = split_args(msg, ctx.args)
    if action == "remove" and not msg.mentions and wanted and match_point(points, wanted)[0] is None:
        targets, wanted = [*targets, wanted.lstrip("@")], ""  # `/clerk remove bob`: the last word is an id
    if bad or not targets:
        ctx.usage()
        return
    point: PickupPoint | None = None
    if action == "add" or wanted:
        point, could_be = match_point(points, wanted)
        if point is None:
            ctx.reply(
                "pickup/clerk_points.j2",
                wanted=wanted,
                could_be=could_be,
                points=points,
                priority=Priority.COMMAND,
            )
            return
    now, changed = ctx.clock.now(), []
    for member_id in targets:
        if action == "add":
            assert point is not None
            done = [point.name] if book.add(point.name, member_id, msg.group_id, msg.sender.id, now) else []
        else:
            done = book.remove(member_id, msg.group_id, point.name if point else None)
        if done:
            changed.append((ctx.repo.member_name(member_id), member_id, done))
    ctx.reply(
        "pickup/clerk_changed.j2",
        action=action,
        changed=changed,
        point=point.name if point else "",
        priority=Priority.COMMAND,
    )


__all__ = ["handle_clerk", "split_args"]
