"""/help: generated from the handlers' own docstrings."""

from __future__ import annotations

from bot.context import Context
from bot.events import GroupMessage
from bot.handler import HandlerSpec, command
from bot.vocab import Priority, Role

ROLE_LABELS = {Role.MEMBER: "群成员", Role.LEADER: "团长", Role.ADMIN: "管理员"}
CLERKS = "核销员"


@command("help", "帮助", private=True)
async def handle_help(msg: GroupMessage, ctx: Context) -> None:
    """/help [命令] — 查看可用命令，或某个命令的详细说明"""
    router = ctx.services.router
    assert router is not None
    specs = [s for s in router.command_specs() if s.role <= ctx.role and _listed(s, ctx)]
    if ctx.args:
        name = ctx.args[0].lstrip("/／").lower()
        spec = router.commands.get(name)
        if spec is None:
            ctx.reply("errors/unknown_command.j2", name=name, priority=Priority.COMMAND)
            return
        if spec.role > ctx.role:
            # It exists: saying "no such command" would send a member looking for a typo.
            ctx.reply(
                "help/restricted.j2",
                command=spec.command,
                usage=spec.usage,
                role=ROLE_LABELS[spec.role],
                your_role=ROLE_LABELS[ctx.role],
                priority=Priority.COMMAND,
            )
            return
        ctx.reply("help_command.j2", doc=spec.doc, role=ROLE_LABELS[spec.role], priority=Priority.COMMAND)
        return
    # A narrowed command (a clerk's /pickup) under its own heading, not as every member's.
    headed = [(CLERKS if s.listed_for is not None else ROLE_LABELS[s.role], s.usage) for s in specs]
    order = [ROLE_LABELS[Role.MEMBER], CLERKS, ROLE_LABELS[Role.LEADER], ROLE_LABELS[Role.ADMIN]]
    sections = [
        (title, [u for t, u in headed if t == title]) for title in order if any(t == title for t, _ in headed)
    ]
    ctx.reply("help.j2", sections=sections, role=ROLE_LABELS[ctx.role], priority=Priority.COMMAND)


def _listed(spec: HandlerSpec, ctx: Context) -> bool:
    """Members see a narrowed command (a clerk's /pickup) only when it is theirs to use."""
    return spec.listed_for is None or ctx.role > Role.MEMBER or spec.listed_for(ctx.services, ctx.sender_id)


@command("whoami", "我是谁", private=True)
async def handle_whoami(msg: GroupMessage, ctx: Context) -> None:
    """/whoami — 查看你的账号 id 和权限（配置团长、管理员时要用 id）"""
    ctx.reply("whoami.j2", member_id=ctx.sender_id, role=ROLE_LABELS[ctx.role], priority=Priority.COMMAND)
