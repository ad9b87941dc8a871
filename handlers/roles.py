"""/leader: admins grant and revoke group-leader rights, by member id."""

from __future__ import annotations

from bot.context import Context
from bot.events import GroupMessage
from bot.handler import Priority, Role, command


def _targets(msg: GroupMessage, args: tuple[str, ...]) -> list[str]:
    """Member ids from @-mentions, else from literal ids typed after the action.

    Display names are never resolved: a mention carries the id, and an id typed
    by an admin is taken as written.
    """
    if msg.mentions:
        return list(dict.fromkeys(msg.mentions))
    return [a.lstrip("@") for a in args[1:] if a.lstrip("@")]


@command("leader", "团长", role=Role.ADMIN)
async def handle_leader(msg: GroupMessage, ctx: Context) -> None:
    """/leader add|remove @成员 或 /leader list — 设置本群团长（仅管理员）"""
    action = ctx.args[0].lower() if ctx.args else ""
    roles, repo = ctx.services.roles, ctx.repo
    if action == "list":
        leaders = sorted(roles.leaders_of(msg.group_id))
        names = [(lid, repo.member_name(lid)) for lid in leaders]
        ctx.reply("leader/list.j2", leaders=names, priority=Priority.COMMAND)
        return
    targets = _targets(msg, ctx.args)
    if action not in {"add", "remove"} or not targets:
        ctx.usage()
        return
    changed: list[tuple[str, str]] = []
    for member_id in targets:
        if action == "add":
            done = repo.grant_role(msg.group_id, member_id, "leader", msg.sender.id, ctx.clock.now())
        else:
            done = repo.revoke_role(msg.group_id, member_id, "leader")
        if done:
            changed.append((member_id, repo.member_name(member_id)))
    roles.invalidate(msg.group_id)
    configured = ctx.config.groups.get(msg.group_id)
    pinned = [t for t in targets if action == "remove" and configured and t in configured.leaders]
    ctx.reply("leader/changed.j2", action=action, changed=changed, pinned=pinned, priority=Priority.COMMAND)
