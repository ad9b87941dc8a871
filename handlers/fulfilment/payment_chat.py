"""`/paid`: the leader records who has paid, and what 我的订单 says about paying.

Amounts per member are private: `/paid` answers the leader privately (the group hears only a
neutral "已记录"), and each member marked paid gets a private note. Who may mark is decided by
id (the router's role check: a leader of this group, or an admin); the members marked come
from @-mentions (ids the network gave) or typed ids, never from display names. With payment
"on_pickup" `/paid` still works (the leader's override); only the reminders stay off.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.campaign import Campaign
from bot.context import Context, Services
from bot.events import GroupMessage
from bot.handler import command
from bot.vocab import Priority, Role
from handlers.admin.roles import member_targets
from handlers.fulfilment.dues import Due, campaign_dues, has_money_rows, member_due, owing, record_payment
from handlers.selling.leader import campaign_for_command
from handlers.selling.service import selling


@dataclass
class Marked:
    """What one `/paid` did: members newly recorded, already recorded, not buyers in this group."""

    marked: list[Due] = field(default_factory=list)
    already: list[Due] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    owing: list[Due] = field(default_factory=list)


def mark_paid(
    services: Services, campaign: Campaign, group_id: str, targets: list[str] | None, by: str
) -> Marked:
    """Record each target (None: every buyer of the group) as paid in full; reads and writes (thread)."""
    now = services.clock.now()
    dues = campaign_dues(services, campaign, group_ids=[group_id])
    result = Marked()
    chosen = [d.member_id for d in dues.values() if not d.paid] if targets is None else targets
    with services.repo.engine.begin() as conn:
        for member_id in chosen:
            due = dues.get(member_id)
            if due is None:
                result.unknown.append(member_id)
            elif due.paid or not record_payment(
                conn, campaign.id, member_id, due.net_cents, by, "leader", now
            ):
                result.already.append(due)
            else:
                result.marked.append(due)
    newly = {d.member_id for d in result.marked}
    result.owing = [d for d in owing(dues) if d.member_id not in newly]
    return result


@command("paid", "已付", "付款", role=Role.LEADER)
async def handle_paid(msg: GroupMessage, ctx: Context) -> None:
    """/paid @成员… | /paid all | /paid list — 登记付款或查看未付名单（团长，结果私信）"""
    found = campaign_for_command(ctx, msg)
    if found is None:
        return
    campaign, _, args = found
    action = args[0].lower() if args else ""
    group_name = ctx.repo.group_name(msg.group_id)
    on_pickup = campaign.fulfilment.payment == "on_pickup"
    if action == "list":
        await ctx.services.settle()
        dues = await asyncio.to_thread(campaign_dues, ctx.services, campaign, None, [msg.group_id])
        unpaid = owing(dues)
        ctx.send_private(
            msg.sender.id,
            "payments/owing.j2",
            title=campaign.title,
            group_name=group_name,
            owing=unpaid,
            owing_cents=sum(d.owed_cents for d in unpaid),
            paid_count=sum(1 for d in dues.values() if d.paid),
            total_count=len(dues),
            on_pickup=on_pickup,
            priority=Priority.COMMAND,
        )
        ctx.reply("payments/recorded.j2", listing=True, recorded=False, priority=Priority.COMMAND)
        return
    targets = None if action == "all" else member_targets(msg, args)[0]
    if targets is not None and not targets:
        ctx.usage()
        return
    await ctx.services.settle()
    done = await asyncio.to_thread(mark_paid, ctx.services, campaign, msg.group_id, targets, msg.sender.id)
    for due in done.marked:
        ctx.send_private(
            due.member_id, "payments/paid_note.j2", title=campaign.title, cents=due.net_cents, kind="payment"
        )
    ctx.send_private(
        msg.sender.id,
        "payments/marked.j2",
        title=campaign.title,
        group_name=group_name,
        marked=done.marked,
        already=done.already if targets is not None else [],
        unknown=done.unknown,
        owing_count=len(done.owing),
        owing_cents=sum(d.owed_cents for d in done.owing),
        priority=Priority.COMMAND,
    )
    ctx.reply("payments/recorded.j2", listing=False, recorded=bool(done.marked), priority=Priority.COMMAND)


# ------------------------------------------------------------------------------------ 我的订单
def _closed_for(services: Services, campaign: Campaign, member_id: str) -> bool:
    """Whether every group the member ordered in has closed (before that, dues are estimates).
    The groups' states come from selling's memory: reading all of them (a thousand rows) for one
    member was two thirds of a 我的订单's reads."""
    sell = selling(services)
    groups = {o.group_id for o in sell.store.orders(campaign.id, member_id=member_id)}
    return bool(groups) and all(sell.status(campaign.id, g) == "closed" for g in groups)


def order_extra_lines(services: Services, campaign: Campaign, member_id: str, private: bool) -> list[str]:
    """我的订单's payment lines (an `OrderExtras` provider, run in selling's worker thread).

    In the group only the paid state (the member's own total is already shown there);
    privately also the amount due after refunds and the refund itself.
    """
    closed = _closed_for(services, campaign, member_id)
    if not closed and not has_money_rows(services.repo.engine, campaign.id, member_id):
        return []  # the common case while the sale is open: no quote needed to say nothing
    due = member_due(services, campaign, member_id)
    if due is None:
        return []
    if not (due.paid_cents or due.refunded_cents or due.resent_cents) and not closed:
        return []
    variables = {
        "on_pickup": campaign.fulfilment.payment == "on_pickup",
        "paid": due.paid,
        "net_cents": due.net_cents,
        "refunded_cents": due.refunded_cents,
        "resent_cents": due.resent_cents,
    }
    template = "payments/extra_private.j2" if private else "payments/extra_state.j2"
    text = services.renderer.render(template, **variables)
    return [line for line in text.splitlines() if line.strip()]


__all__ = ["Marked", "handle_paid", "mark_paid", "order_extra_lines"]
