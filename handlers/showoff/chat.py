"""晒单有礼: a picture in a group of a campaign, inside its `showoff:` window, is a 晒单.

Only pictures reach this module (`kinds=("image",)`: the router never offers it text), and the
matcher decides from memory whether one of the group's campaigns is in its 晒单 window, so
chatter costs nothing and an off-window picture no statement. The body counts the picture in a
worker thread (`ShowoffStore.submit`: buyer check, once per buyer, the first N, the reward, one
transaction). A rewarded buyer is told privately; the group gets one thanks post per
`THANKS_WINDOW` that names (masked) every member rewarded there so far, replaced while queued
(`Outbox.roll`, as the 接龙 list is). Non-buyers, repeats and buyers after the first N get no
reply at all: a picture is never answered with a refusal in the group.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from loguru import logger

from bot.campaign.active import ActiveCampaign
from bot.campaign.models import Campaign
from bot.context import Context, Services
from bot.events import GroupMessage
from bot.handler import on_message
from bot.privacy import mask_name
from bot.vocab import Priority
from handlers.coupons.chat import spec_for
from handlers.points.ledger import points_of
from handlers.selling.parse import safe_name
from handlers.showoff.store import COUPON_SOURCE, REWARDED, Outcome, Reward, ShowoffStore, ref_of

SHOWOFF_PRIORITY = Priority.DEFAULT
THANKS_WINDOW = 30.0  # seconds: at most one thanks post per group this often
NAMES_SHOWN = 50  # a longer list shows its newest names (WeChat messages have a length limit)


@dataclass(frozen=True)
class Window:
    """The campaign whose 晒单 window holds the picture, and that window."""

    active: ActiveCampaign
    starts: datetime
    ends: datetime


@dataclass
class ThanksPosts:
    """The queued thanks post of every (campaign, group) of this process (a restart starts anew)."""

    queued: dict[tuple[str, str], int] = field(default_factory=dict)
    shown: dict[tuple[str, str], int] = field(default_factory=dict)  # names in the latest version


def store_of(services: Services) -> ShowoffStore:
    return services.get_or_make(ShowoffStore, lambda: ShowoffStore(services.repo.engine, points_of(services)))


def window_of(active: ActiveCampaign) -> tuple[datetime, datetime] | None:
    """The campaign's 晒单 window, following a leader's delay (the effective close), or None."""
    campaign = active.campaign
    section = campaign.showoff
    if section is None:
        return None
    starts = section.from_.resolve(active.opens_at, active.closes_at, campaign.tz)
    ends = section.until.resolve(active.opens_at, active.closes_at, campaign.tz)
    return starts, ends


def match_picture(msg: GroupMessage, view: Any) -> Window | None:
    """The 晒单 window this picture falls in (from memory), or None."""
    if view is None or msg.kind != "image":
        return None
    for active in view.campaigns:
        found = window_of(active)
        if found is not None and found[0] <= msg.time < found[1]:
            return Window(active, *found)
    return None


def reward_of(active: ActiveCampaign, now: datetime) -> Reward:
    """The campaign's reward, with the coupon's terms as issued now (None once it can't be redeemed)."""
    campaign: Campaign = active.campaign
    section = campaign.showoff
    assert section is not None
    spec = None
    coupon = campaign.coupon(section.coupon) if section.coupon else None
    if coupon is not None:
        spec = replace(
            spec_for(active, coupon, now, COUPON_SOURCE), quota=None, source_ref=ref_of(campaign.id)
        )
        if spec.valid_until is not None and spec.valid_until <= now:
            logger.bind(campaign=campaign.id, coupon=coupon.id).warning(
                "showoff: the coupon has expired; not issued"
            )
            spec = None
    return Reward(first=section.first, points=section.points, coupon=spec)


@on_message(priority=SHOWOFF_PRIORITY, match=match_picture, kinds=("image",))
async def handle_showoff(msg: GroupMessage, ctx: Context) -> bool:
    """A picture in the 晒单 window: counted once per buyer; the first N are rewarded."""
    window: Window = ctx.intent
    services = ctx.services
    campaign = window.active.campaign
    now = ctx.clock.now()
    store = store_of(services)
    name = safe_name(msg.sender.name or "")
    outcome = await asyncio.to_thread(
        store.submit, campaign.id, msg.group_id, msg.sender.id, name, reward_of(window.active, now), now
    )
    log = logger.bind(campaign=campaign.id, group=msg.group_id, member=msg.sender.id)
    log.info("showoff: {}", outcome.status)
    if outcome.status != REWARDED:
        return True
    _tell(ctx, msg, campaign, outcome)
    names, taken = await asyncio.to_thread(_thanks_figures, store, campaign.id, msg.group_id)
    _thank(ctx, campaign, msg.group_id, names, taken)
    return True


def _thanks_figures(store: ShowoffStore, campaign_id: str, group_id: str) -> tuple[list[str], int]:
    """The group's rewarded names and the campaign's rewards taken (a worker thread: two reads)."""
    return store.rewarded_names(campaign_id, group_id), store.taken(campaign_id)


def _tell(ctx: Context, msg: GroupMessage, campaign: Campaign, outcome: Outcome) -> None:
    section = campaign.showoff
    assert section is not None
    coupon = campaign.coupon(section.coupon) if section.coupon else None
    ctx.send_private(
        msg.sender.id,
        "showoff/rewarded.j2",
        priority=Priority.CHATTER,
        name=msg.sender.name,
        title=campaign.title,
        rank=outcome.rank,
        first=section.first,
        points=outcome.points,
        coupon_code=outcome.coupon_code,
        amount_cents=coupon.amount_cents if coupon is not None and outcome.coupon_code else 0,
    )


def _thank(ctx: Context, campaign: Campaign, group_id: str, names: list[str], taken: int) -> None:
    """Queue the group's thanks post, or replace the one still queued with the longer list."""
    services = ctx.services
    posts = services.get_or_make(ThanksPosts, ThanksPosts)
    section = campaign.showoff
    assert section is not None
    key = (campaign.id, group_id)
    if len(names) < posts.shown.get(key, 0):
        return  # a handler that read the list before another's reward: the longer one is queued
    posts.shown[key] = len(names)
    shown = [mask_name(n) for n in names]
    text = ctx.render(
        "showoff/thanks.j2",
        title=campaign.title,
        names=shown[-NAMES_SHOWN:],
        hidden=max(0, len(shown) - NAMES_SHOWN),
        first=section.first,
        taken=taken,
    )
    posts.queued[key] = services.outbox.roll(
        posts.queued.get(key),
        lambda grow: (text, ()),
        group_id=group_id,
        replace_key=f"showoff:{campaign.id}",
        delay=THANKS_WINDOW,
        priority=Priority.CHATTER,
        kind="showoff",
    )


__all__ = ["THANKS_WINDOW", "Window", "handle_showoff", "match_picture", "store_of", "window_of"]
