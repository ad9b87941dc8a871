"""/leader: admins grant and revoke group-leader rights, by member id."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.context import Context
from bot.events import GroupMessage
from bot.handler import command
from bot.vocab import Priority, Role

MEMBER_ID_RE = re.compile(r"[\w.:-]{1,80}")
"""What a typed member id may look like: wxid_ab12, bob, 张三, @0f3a… (the @ is dropped).
Anything else (`{{ 7*7 }}`, `<a>`, a paragraph) is a mistake, not an id to grant rights to."""

SHOWN_CHARS = 20


def member_targets(msg: GroupMessage, words: Sequence[str]) -> tuple[list[str], list[str]]:
    """(member ids, tokens that cannot be ids): from @-mentions, else the ids typed in `words`.

    Display names are never resolved: a mention carries the id the network gave,
    and an id typed by a leader or admin is taken as written if it looks like one.
    """
    if msg.mentions:
        return list(dict.fromkeys(msg.mentions)), []
    typed = [a.lstrip("@") for a in words if a.lstrip("@")]
    bad = [t for t in typed if not MEMBER_ID_RE.fullmatch(t)]
    return list(dict.fromkeys(t for t in typed if MEMBER_ID_RE.fullmatch(t))), bad


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
    targets, bad = member_targets(msg, ctx.args[1:])
    if action in {"add", "remove"} and bad:
        shown = [t if len(t) <= SHOWN_CHARS else t[:SHOWN_CHARS] + "…" for t in bad]
        assert ctx.spec is not None
        ctx.reply(
            "leader/bad_ids.j2", bad=shown, usage=ctx.spec.usage, mention=True, priority=Priority.COMMAND
        )
        return
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
