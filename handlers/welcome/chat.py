"""Welcome (自动欢迎语): greet newcomers once, with the rules, the newcomer gift and how to ask.

Join bursts are combined: every newcomer is added to the group's pending list
(in the database) and one delayed post naming all of them is re-rendered and
replaced in the outbox (`replace_key="welcome"`), so thirty joins in a minute
are one welcome, naming newcomers in join order. Only a real join earns the
welcome and the newcomer gift: a join event, or a member the bot saw leave who
speaks again (they must have rejoined while the bot watched; WeChat does not
always report joins). A first message alone is no evidence: members who were in
the group before the bot arrived speak for the first time days later (issue
13.10). Each member is welcomed once: `welcomed_at` is claimed with a
conditional UPDATE.

Templates: a leader's custom one (`/welcome set`, a sandbox without files:
`handlers.welcome.leader_templates`), else
`templates/welcome/campaign/<campaign id>.j2` for the running campaign, else
`templates/welcome/default.j2`. Member names only ever go in as variables.
A leader's template with a false-advertising claim (广告法: 「全网最低价」…) is not saved; the
leader is told privately why (`bot.compliance.adlaw_guard`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from cachetools import LRUCache
from loguru import logger

from bot.campaign.active import active_campaigns
from bot.context import Context, Services
from bot.events import GroupMessage, MemberJoined, MemberLeft
from bot.handler import command, on_event, on_message
from bot.vocab import Priority, Role
from handlers.coupons.chat import issue_join_gifts
from handlers.welcome.leader_templates import LeaderTemplateError, Problem, leader_templates
from handlers.welcome.leavers import Leavers, leavers_of
from handlers.welcome.rejoin import Rejoin, checked_of, match_rejoin
from handlers.welcome.service import Newcomer, WelcomeStore

WELCOME_DELAY = 60.0
"""Seconds a welcome waits for more newcomers before it is posted."""

MAX_NAMES = 30
DEFAULT_TEMPLATE = "welcome/default.j2"
SAMPLE_NAMES = ("小明", "小红")
SET_RE = re.compile(r"^\s*\S+\s+(.+)$", re.DOTALL)


def store_of(services: Services) -> WelcomeStore:
    return WelcomeStore(services.repo.engine)


def welcome_variables(
    services: Services, group_id: str, newcomers: list[Newcomer], now: datetime
) -> dict[str, Any]:
    """What a welcome template may use (documented in docs/engagement.md)."""
    names = [n.name or n.member_id for n in newcomers]
    inviters = list(dict.fromkeys(n.inviter_name for n in newcomers if n.inviter_name))
    live = active_campaigns(services, group_id, now)
    gifts = []
    for active in live:
        for coupon in active.campaign.coupons:
            if coupon.on_join:
                gifts.append(
                    {
                        "amount_cents": coupon.amount_cents,
                        "min_spend_cents": coupon.min_spend_cents,
                        "product_names": [
                            p.name for p in active.campaign.products if p.code in coupon.products
                        ],
                    }
                )
    repo = services.repo
    return {
        "bot_name": services.config.bot.name,
        "names": names[:MAX_NAMES],
        "more": max(0, len(names) - MAX_NAMES),
        "inviters": inviters,
        "group_name": repo.group_name(group_id),
        "member_count": store_of(services).known_member_count(group_id, repo.member_count(group_id)),
        "gifts": gifts,
        "campaign": live[0].campaign.title if live else "",
        "opens_at": live[0].opens_at if live else None,
    }


def render_welcome(services: Services, group_id: str, variables: dict[str, Any], custom: str) -> str:
    """The leader's template if it renders, else the campaign's, else the default."""
    renderer = services.renderer
    if custom:
        try:
            return leader_templates(services).render(custom, variables)
        except LeaderTemplateError as exc:
            logger.bind(group=group_id).warning("custom welcome failed ({}), using the default", exc)
    for active in active_campaigns(services, group_id, services.clock.now()):
        name = f"welcome/campaign/{active.campaign.id}.j2"
        if name in renderer.names():
            return renderer.render(name, **variables)
    return renderer.render(DEFAULT_TEMPLATE, **variables)


def welcome(services: Services, group_id: str, newcomers: list[Newcomer], now: datetime) -> int | None:
    """Add newcomers (already claimed and gifted) to the group's combined welcome; its outbox id."""
    store = store_of(services)
    enabled, custom = store.settings(group_id)
    if not enabled or not newcomers:
        return None
    pending = store.add_pending(group_id, newcomers, now, services.outbox.queued_among)
    text = render_welcome(services, group_id, welcome_variables(services, group_id, pending, now), custom)
    outbox_id = services.outbox.enqueue(
        text,
        group_id=group_id,
        priority=Priority.DEFAULT,
        kind="welcome",
        replace_key="welcome",
        delay=WELCOME_DELAY,
    )
    store.set_pending_outbox(group_id, [p.member_id for p in pending], outbox_id)
    return outbox_id


def _greet(
    services: Services, group_id: str, members: list[tuple[str, str]], inviter: str, now: datetime
) -> None:
    store = store_of(services)
    newcomers = []
    for member_id, name in members:
        if member_id == services.config.bot.id or not store.mark_welcomed(group_id, member_id, now):
            continue
        _leavers(services).settled(group_id, member_id)
        issue_join_gifts(services, group_id, member_id, now)
        newcomers.append(Newcomer(member_id, name, inviter))
    welcome(services, group_id, newcomers, now)


@on_event(MemberJoined)
async def handle_join(event: MemberJoined, ctx: Context) -> bool:
    """Members joined: claim their one welcome, issue the newcomer gift, add them to the pending welcome.

    Returns False so other features (referrals, say) still see the join.
    """
    inviter = event.inviter.name if event.inviter else ""
    leavers = _leavers(ctx.services)
    for member in event.members:
        leavers.settled(event.group_id, member.id)  # a join clears the leave
    _greet(ctx.services, event.group_id, [(m.id, m.name) for m in event.members], inviter, ctx.clock.now())
    return False


def _checked(services: Services) -> LRUCache[tuple[str, str], bool]:
    return checked_of(services)


def _leavers(services: Services) -> Leavers:
    return leavers_of(services, store_of(services).rejoin_candidates)


@on_message(priority=1, match=match_rejoin)
async def handle_first_message(msg: GroupMessage, ctx: Context) -> bool:
    """A member the bot saw leave speaks again: they rejoined unreported; welcome them. Never stops others.

    Runs only on `match_rejoin`'s intent: who left is known from memory, complete from the
    app's start (`handlers.welcome.leavers`), so chatter runs no body and no query, and only
    a member seen leaving is looked up, once.
    """
    leavers = _leavers(ctx.services)
    group_id, member_id = msg.group_id, msg.sender.id
    if ctx.intent is Rejoin.LOOKUP:  # an incomplete memory only (no feature setup): read the group
        await leavers.ensure(group_id)  # once per group, in a worker thread
        if leavers.candidate(group_id, member_id) is False:
            return False
    checked = _checked(ctx.services)
    key = (group_id, member_id)
    if key in checked:
        return False
    checked[key] = True
    rejoined = store_of(ctx.services).rejoined_unreported(group_id, member_id)
    leavers.settled(group_id, member_id)  # checked: a candidate again only after another leave
    if rejoined:
        now = ctx.clock.now()
        ctx.services.repo.record_join(group_id, member_id, msg.sender.name, now)
        _greet(ctx.services, group_id, [(member_id, msg.sender.name)], "", now)
    return False


@on_event(MemberLeft)
async def handle_left(event: MemberLeft, ctx: Context) -> bool:
    """Remember leavers (their next message may be an unreported rejoin) and forget they were checked."""
    checked = _checked(ctx.services)
    for member in event.members:
        checked.pop((event.group_id, member.id), None)
    leavers = _leavers(ctx.services)
    await leavers.ensure(event.group_id)  # in memory before the leave is added, so it cannot be lost
    for member in event.members:
        leavers.left(event.group_id, member.id)
    return False


def _sample_variables(ctx: Context) -> dict[str, Any]:
    newcomers = [Newcomer(f"sample-{i}", name, "") for i, name in enumerate(SAMPLE_NAMES)]
    return welcome_variables(ctx.services, ctx.group_id, newcomers, ctx.clock.now())


@command("welcome", "欢迎语", role=Role.LEADER)
async def handle_welcome(msg: GroupMessage, ctx: Context) -> None:
    """/welcome show | set 模板 | reset | off | on — 查看或修改本群欢迎语（团长）"""
    action = ctx.args[0].lower() if ctx.args else "show"
    store = store_of(ctx.services)
    now = ctx.clock.now()
    if action == "show":
        enabled, custom = store.settings(msg.group_id)
        preview = render_welcome(ctx.services, msg.group_id, _sample_variables(ctx), custom)
        ctx.reply(
            "welcome/show.j2", enabled=enabled, custom=custom, preview=preview, priority=Priority.COMMAND
        )
    elif action in {"off", "on"}:
        store.save_settings(msg.group_id, by=msg.sender.id, now=now, enabled=action == "on")
        ctx.reply("welcome/toggled.j2", enabled=action == "on", priority=Priority.COMMAND)
    elif action == "reset":
        store.save_settings(msg.group_id, by=msg.sender.id, now=now, template="")
        ctx.reply(
            "welcome/saved.j2",
            preview=render_welcome(ctx.services, msg.group_id, _sample_variables(ctx), ""),
            reset=True,
            priority=Priority.COMMAND,
        )
    elif action == "set":
        raw = ctx.command.raw_args if ctx.command else ""
        match = SET_RE.match(raw)
        source = match.group(1).strip() if match else ""
        if not source:
            ctx.usage()
            return
        problem = _check_template(ctx, source)
        if problem is not None:
            ctx.reply(
                "welcome/invalid.j2",
                reason=problem.reason,
                detail=problem.detail,
                line=problem.line,
                priority=Priority.COMMAND,
            )
            return
        if ctx.refused_claims("欢迎语", source):
            return
        store.save_settings(msg.group_id, by=msg.sender.id, now=now, template=source)
        preview = render_welcome(ctx.services, msg.group_id, _sample_variables(ctx), source)
        ctx.reply("welcome/saved.j2", preview=preview, reset=False, priority=Priority.COMMAND)
    else:
        ctx.usage()


def _check_template(ctx: Context, source: str) -> Problem | None:
    """Why a leader's template cannot be used (files, syntax, unknown variable, too long), or None."""
    templates = leader_templates(ctx.services)
    return templates.problem(source, _sample_variables(ctx))
