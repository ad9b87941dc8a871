"""The leaders' side of after-sales: `/ticket` (工单), in the group or privately; answers are private.

Rights are by id, per ticket: the leaders of the ticket's group and the admins. A leader's
first action on a ticket (a reply or a resolution) is its first reply (the 2-hour promise);
a resolution (退款 / 补发 / 已解决) is recorded once, with the refund or the resend in the
same transaction (`handlers.fulfilment.adjustments.record_adjustment`: no money moves, the
bot records and the leader pays), and the member is then asked privately for a 1–5 rating.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from bot.context import Context
from bot.events import GroupMessage
from bot.handler import command
from bot.vocab import Priority, Role
from handlers.aftersales.matcher import state_of
from handlers.aftersales.store import Ticket, TicketStore
from handlers.fulfilment.adjustments import record_adjustment

REFUND = ("退款", "refund")
RESEND = ("补发", "resend")
RESOLVED = ("已解决", "解决", "resolved", "done")
REPLY = ("回复", "reply")
LIST = ("list", "列表", "ls")
MAX_NOTE_CHARS = 500
MAX_CENTS = 100_000_00
_AFTER_TWO = re.compile(r"^\s*\S+\s+\S+\s*(?P<rest>.*)$", re.DOTALL)


def parse_cents(text: str) -> int | None:
    """Fen from `¥9.90`, `9.9`, `9.9元`, `￥10`; None unless a positive amount with at most 2 decimals."""
    cleaned = text.strip().lstrip("¥￥").removesuffix("元").removesuffix("块").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value.as_tuple().exponent < -2:  # type: ignore[operator]
        return None
    cents = int(value * 100)
    return cents if cents <= MAX_CENTS else None


def may_handle(ctx: Context, ticket: Ticket) -> bool:
    """Leaders of the ticket's group and admins, by id."""
    return ctx.services.roles.role_of(ctx.sender_id, ticket.group_id) >= Role.LEADER


def _answer(ctx: Context, template: str, **variables: object) -> None:
    ctx.send_private(ctx.sender_id, template, priority=Priority.COMMAND, kind="aftersales", **variables)


@command("ticket", "工单", role=Role.LEADER, private=True)
async def handle_ticket(msg: GroupMessage, ctx: Context) -> None:
    """/ticket list、/ticket 编号 [回复 文字|退款 ¥9.90|补发 [金额]|已解决 说明] — 售后工单（团长）"""
    args = ctx.args
    if not args:
        ctx.usage()
        return
    store = TicketStore(ctx.repo.engine)
    if args[0].lower() in LIST:
        _list(ctx, store)
        return
    number = args[0].lstrip("#")
    if not number.isdigit():
        ctx.usage()
        return
    ticket = store.get(int(number))
    if ticket is None or not may_handle(ctx, ticket):
        _answer(ctx, "aftersales/not_yours.j2", number=int(number), missing=ticket is None)
        return
    if len(args) == 1:
        _answer(ctx, "aftersales/detail.j2", t=ticket, group=ctx.repo.group_name(ticket.group_id))
        return
    action = args[1]
    match = _AFTER_TWO.match(ctx.command.raw_args if ctx.command else "")
    rest = match.group("rest").strip() if match else ""
    if action in REPLY:
        _reply(ctx, store, ticket, rest)
    elif action in REFUND:
        cents = parse_cents(rest) if rest else None
        if cents is None:
            ctx.usage()
        elif ticket.lines_cents and cents > ticket.lines_cents:
            _answer(ctx, "aftersales/too_much.j2", t=ticket, cents=cents)
        else:
            _resolve(ctx, store, ticket, "refund", cents=cents)
    elif action in RESEND:
        cents = parse_cents(rest) if rest else ticket.lines_cents
        if cents is None:
            ctx.usage()
        else:
            _resolve(ctx, store, ticket, "resend", cents=cents)
    elif action in RESOLVED:
        _resolve(ctx, store, ticket, "resolved", note=rest[:MAX_NOTE_CHARS])
    else:
        ctx.usage()


def _list(ctx: Context, store: TicketStore) -> None:
    """Open tickets: of this group (said in a group), of the groups the sender leads, or all (admins)."""
    sender = ctx.sender_id
    if ctx.group_id:
        groups: list[str] | None = [ctx.group_id]
    elif sender in ctx.config.admins:
        groups = None
    else:
        groups = ctx.services.roles.leader_groups(sender)
    tickets = store.unresolved(groups)
    names = {t.group_id: ctx.repo.group_name(t.group_id) for t in tickets}
    _answer(ctx, "aftersales/list.j2", tickets=tickets, names=names, now=ctx.clock.now())


def _reply(ctx: Context, store: TicketStore, ticket: Ticket, text: str) -> None:
    """Pass the leader's words to the member privately; the first one is the ticket's first reply."""
    if not text:
        ctx.usage()
        return
    text = text[:MAX_NOTE_CHARS]
    with store.engine.begin() as conn:
        store.first_reply(conn, ticket.id, ctx.sender_id, ctx.clock.now())
    ctx.send_private(ticket.member_id, "aftersales/relay.j2", t=ticket, text=text, priority=Priority.COMMAND)
    _answer(ctx, "aftersales/relayed.j2", t=ticket)


def _resolve(
    ctx: Context, store: TicketStore, ticket: Ticket, resolution: str, *, cents: int = 0, note: str = ""
) -> None:
    """Resolve once, with the refund or resend recorded in the same transaction; then tell the member."""
    now, by = ctx.clock.now(), ctx.sender_id
    amounts = {
        "refund_cents": cents if resolution == "refund" else 0,
        "resend_cents": cents if resolution == "resend" else 0,
    }
    with store.engine.begin() as conn:
        done = store.resolve(conn, ticket.id, by, now, resolution=resolution, note=note, **amounts)
        if done and resolution in ("refund", "resend"):
            record_adjustment(
                conn, ticket.campaign_id, ticket.member_id, resolution, cents, ticket.id, by, now
            )
    if not done:
        _answer(ctx, "aftersales/already.j2", t=store.get(ticket.id) or ticket)
        return
    resolved = store.get(ticket.id) or ticket
    state_of(ctx.services).awaiting[ticket.member_id] = now
    ctx.send_private(
        ticket.member_id, "aftersales/resolved.j2", t=resolved, priority=Priority.COMMAND, kind="aftersales"
    )
    _answer(ctx, "aftersales/done.j2", t=resolved)
