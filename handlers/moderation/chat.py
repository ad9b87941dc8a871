"""The moderation of member posts: the matcher that judges every group post, and the ladder.

Runs first (priority 0) on every group message of every kind (text, links, cards, pictures). The
matcher judges from memory (`Moderation.judge`); only a violating post reaches the handler body,
which climbs the member's ladder in that group and returns True, so no other handler answers spam
(no FAQ answer, no order, no coupon). Leaders of the group and admins are never judged (by id).

The ladder, per member per group (strikes restart `strikes_reset_hours` after the last one):
1. a private warning: which rule, what to do instead;
2. a short @-mention in the group (the rule's name only, never the post);
3. and later: a private alert to the group's leaders (admins if it has none) with the masked
   evidence and `/mute @x 1h` and `/kick @x` ready to send; with `auto_kick`, the bot removes
   the member itself at this step. One alert per member and group per `ALERT_COOLDOWN`.
A muted member's posts are ignored by every other handler and each counts as a violation.
"""

from __future__ import annotations

from typing import Any

from bot.context import Context, Services
from bot.events import GroupMessage
from bot.handler import on_message
from bot.privacy import mask_contacts
from bot.transports.base import remove_member
from bot.vocab import Priority, Role
from handlers.moderation import audit
from handlers.moderation.rules import Violation
from handlers.moderation.service import Moderation

MODERATION_PRIORITY = 0  # before every other handler: spam is not answered


def moderation_of(services: Services) -> Moderation:
    return services.get_or_make(Moderation, lambda: Moderation(services.config))


def match_post(msg: GroupMessage, view: Any) -> Violation | None:
    """The post's violation, judged from memory; None for a clean post or an exempt sender."""
    if view is None:  # no app view (a bare test app): nothing to judge with
        return None
    services: Services = view.services
    if services.roles.role_of(msg.sender.id, msg.group_id) > Role.MEMBER:
        return None
    moderation = services.find(Moderation)
    if moderation is None:
        return None
    return moderation.judge(msg, view.normalized if msg.text else "")


@on_message(priority=MODERATION_PRIORITY, match=match_post, kinds=("*",))
async def handle_violation(msg: GroupMessage, ctx: Context) -> bool:
    """A post broke a rule: climb the member's ladder in this group. Returns True: nobody else answers it."""
    violation: Violation = ctx.intent
    await climb(ctx, msg, violation)
    return True


async def climb(ctx: Context, msg: GroupMessage, violation: Violation) -> None:
    """Answer a violation with the member's next step on the ladder, and log the action."""
    services = ctx.services
    moderation = moderation_of(services)
    rules = moderation.rules(msg.group_id)
    key = (msg.group_id, msg.sender.id)
    now = ctx.clock.now()
    strike = moderation.ladder.strike(key, now, rules.strikes_reset_hours)
    member_id, rule = msg.sender.id, violation.rule

    def log(action: str) -> None:
        audit.record(
            services,
            msg.group_id,
            member_id,
            action,
            now,
            rule=rule,
            strike=strike,
            detail=violation.evidence,
        )

    until = moderation.mutes.until(key, now)
    if strike == 1:
        ctx.send_private(
            member_id,
            "moderation/warning.j2",
            rule=rule,
            group_name=msg.group_name or msg.group_id,
            links_per_day=rules.links_per_day,
            until=until,
            priority=Priority.COMMAND,
            kind="moderation",
        )
        log("warn")
        return
    if strike == 2:
        ctx.send_group(
            msg.group_id,
            "moderation/mention.j2",
            rule=rule,
            mentions=(member_id,),
            priority=Priority.COMMAND,
            kind="moderation",
        )
        log("mention")
        return
    if rules.auto_kick and await remove_member(services.outbox.transport, msg.group_id, member_id):
        moderation.forget(key)
        log("kick")
        _alert(ctx, msg, violation, strike, kicked=True)
        return
    if not moderation.should_alert(key, now):
        return
    _alert(ctx, msg, violation, strike, kicked=False)
    log("alert")


def _alert(ctx: Context, msg: GroupMessage, violation: Violation, strike: int, *, kicked: bool) -> None:
    """Tell the group's leaders (or the admins, for a group without leaders), privately."""
    leaders = sorted(ctx.services.roles.leaders_of(msg.group_id)) or list(ctx.config.admins)
    for leader in leaders:
        ctx.send_private(
            leader,
            "moderation/alert.j2",
            member_id=msg.sender.id,
            name=mask_contacts(msg.sender.name),
            group_name=msg.group_name or msg.group_id,
            rule=violation.rule,
            evidence=violation.evidence,
            strike=strike,
            kicked=kicked,
            priority=Priority.ALERT,
            kind="moderation",
        )
