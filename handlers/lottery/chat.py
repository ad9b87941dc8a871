"""`/lottery`: a leader (in their own group) or an admin (in any) runs a lottery people can check.

Who may is the router's question, answered by member id (`Role.LEADER` in a group means a
leader of that group, or an admin): a member renamed after the leader gets the refusal. The
arguments are parsed here; what each step stores and posts is `handlers.lottery.actions`.
"""

from __future__ import annotations

from dataclasses import replace

from bot.context import Context
from bot.events import GroupMessage
from bot.handler import command
from bot.vocab import Priority, Role
from handlers.help.chat import ROLE_LABELS
from handlers.lottery.actions import (
    MAX_WINNERS,
    cancel_lottery,
    draw_lottery,
    lottery_status,
    start_lottery,
)
from handlers.lottery.pool import BUYERS, CHECKINS
from handlers.selling.leader import campaign_for_command
from handlers.selling.service import selling

POOL_WORDS = {"buyers": BUYERS, "买家": BUYERS, "下单": BUYERS, "checkins": CHECKINS, "签到": CHECKINS}
HELP_WORDS = {"help", "--help", "-h", "帮助"}


@command("lottery", "抽奖", role=Role.LEADER)
async def handle_lottery(msg: GroupMessage, ctx: Context) -> None:
    """/lottery start 名额 奖品 [buyers|checkins] [活动ID] | draw | status | cancel — 可验证的抽奖（团长）

    start：机器人抽一个秘密种子，先在群里公布它的 SHA-256（开奖承诺），之后谁都改不了种子。
      名额：中奖人数（1–100）。奖品：「N积分」（如 50积分），或本次团购 coupons 里的券 id。
      buyers（默认）：开奖时本群本次团购仍有有效订单的成员，按第一笔有效订单先后编号；
      checkins：本次团购期间在本群签到过的成员，按首次签到先后编号。
    draw：开奖。公布种子、完整编号名单和中奖序号，自动发奖（只发一次），私信通知中奖者；
      群里附一行 Python，任何人都能重算中奖序号。
    status：查看本群的抽奖。cancel：开奖前取消（同时公布种子）。
    每个群同时只有一场抽奖。详细说明见 docs/lottery.md。
    """
    args = list(ctx.args)
    action = args.pop(0).lower() if args else ""
    if action in HELP_WORDS or not action:
        assert ctx.spec is not None
        ctx.reply(
            "help_command.j2", doc=ctx.spec.doc, role=ROLE_LABELS[ctx.spec.role], priority=Priority.COMMAND
        )
        return
    if action == "start":
        await _start(msg, ctx, args)
    elif action == "draw" and not args:
        await draw_lottery(msg, ctx)
    elif action == "status" and not args:
        await lottery_status(msg, ctx)
    elif action == "cancel" and not args:
        await cancel_lottery(msg, ctx)
    else:
        ctx.usage()


async def _start(msg: GroupMessage, ctx: Context, args: list[str]) -> None:
    """`start 名额 奖品 [buyers|checkins] [活动ID]`: the last two in either order."""
    if len(args) < 2 or not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_WINNERS:
        ctx.usage()
        return
    winners, prize_text, rest = int(args[0]), args[1], args[2:]
    pool = BUYERS
    campaign_args: list[str] = []
    registry = selling(ctx.services).registry
    known = registry.campaigns if registry is not None else {}
    for word in rest:
        if word.lower() in POOL_WORDS:
            pool = POOL_WORDS[word.lower()]
        elif word in known and not campaign_args:
            campaign_args.append(word)
        else:
            ctx.usage()
            return
    if ctx.command is not None:  # campaign_for_command reads `[活动ID]` as the first argument
        ctx.command = replace(ctx.command, args=tuple(campaign_args))
    found = campaign_for_command(ctx, msg)
    if found is None:
        return
    campaign, status, _ = found
    await start_lottery(msg, ctx, campaign, status, winners=winners, prize_text=prize_text, pool=pool)


__all__ = ["handle_lottery"]
