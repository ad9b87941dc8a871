"""Which campaign is running in a group, and when its coupons are valid.

A campaign is *active* in a group from its first timeline node (the first
preheat post, usually T-3d) until it closes, taking a leader's `/campaign
delay` into account; the FAQ uses every loaded campaign of the group at any
time, since members ask about pickup long after closing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.campaign.models import Campaign, Coupon

if TYPE_CHECKING:
    from bot.context import Services


@dataclass(frozen=True)
class ActiveCampaign:
    """A loaded campaign in one group, with its effective window."""

    campaign: Campaign
    starts_at: datetime
    opens_at: datetime
    closes_at: datetime


def campaigns_in_group(services: Services, group_id: str) -> list[ActiveCampaign]:
    """Every loaded campaign that runs in `group_id`, whatever the time.

    Memoised by the runtime (`CampaignRuntime.in_group`): no database statement per message.
    """
    return list(services.campaigns.in_group(group_id))


def active_campaigns(services: Services, group_id: str, now: datetime) -> list[ActiveCampaign]:
    """Campaigns of the group whose window (first node .. close) contains `now`, earliest closing first."""
    live = [a for a in campaigns_in_group(services, group_id) if a.starts_at <= now < a.closes_at]
    return sorted(live, key=lambda a: (a.closes_at, a.campaign.id))


def coupon_window(active: ActiveCampaign, coupon: Coupon, issued_at: datetime) -> tuple[datetime, datetime]:
    """(valid_from, valid_until) of `coupon` issued at `issued_at`.

    valid_from defaults to the moment of issue; valid_until to the campaign's
    closing. `valid_for` counts from issue and, when `valid_until` is also set,
    the earlier of the two wins.
    """
    campaign = active.campaign
    valid_from = campaign.resolve(coupon.valid_from) if coupon.valid_from else issued_at
    until: datetime | None = campaign.resolve(coupon.valid_until) if coupon.valid_until else None
    if coupon.valid_for is not None:
        by_duration = issued_at + coupon.valid_for
        until = by_duration if until is None else min(until, by_duration)
    return valid_from, until if until is not None else active.closes_at
