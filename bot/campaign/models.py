"""Pydantic models of a campaign file (one YAML file per campaign under ``data/campaigns/``).

The models check what a single field can know (types, ranges, time syntax, money with at most
two decimals); everything that needs several fields at once (times in order, references between
products and coupons, duplicates) is checked by :mod:`bot.campaign.loader`, which can then point
at the exact line of each offending value. Every field has a description because the JSON Schema
generated from these models is what admins' editors show while they type.

Times stay unresolved (:class:`~bot.campaign.times.TimeSpec`) so that moving ``opens_at`` moves
every relative node; :meth:`Campaign.resolve` turns them into aware datetimes.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from bot.campaign.broadcast_models import Messages, messages_field
from bot.campaign.gift_models import FirstGifts
from bot.campaign.growth_models import DoublePoints, Points, Poster, Showoff
from bot.campaign.leaderboard_models import LiveBoard
from bot.campaign.model_base import _Model, _Post
from bot.campaign.referral_models import Referral
from bot.campaign.reopen_models import Reopen
from bot.campaign.time_fields import (
    DEFAULT_TIMEZONE,
    Closing,
    Duration,
    Opening,
    QuietHours,
    Timezone,
    When,
    in_quiet_hours,
)
from bot.campaign.times import TimeSpec, parse_time_spec, to_utc
from bot.campaign.values import (
    MAX_LIMIT,
    MAX_PACKETS,
    MAX_PER_MEMBER,
    MAX_QUOTA,
    MAX_STOCK,
    MAX_THRESHOLD,
    Count,
    Money,
    Number,
    PositiveMoney,
    ProductCode,
    Slug,
    Text,
)
from bot.config import AdlawSettings

__all__ = [
    "DEFAULT_COUNTDOWNS",
    "DEFAULT_TIMEZONE",
    "Broadcasts",
    "Campaign",
    "ClosePosts",
    "Coupon",
    "DoublePoints",
    "FaqEntry",
    "FollowupPost",
    "Fulfilment",
    "OpenPost",
    "PickupPoint",
    "Points",
    "Poster",
    "PreheatPost",
    "Product",
    "RedPacketBurst",
    "Showoff",
    "SpendTier",
    "in_quiet_hours",
]

DEFAULT_COUNTDOWNS = ("T-10m", "T-5m", "T-1m")

# --------------------------------------------------------------------------- models


class Product(_Model):
    """A product on sale; members order it by ``code`` in the chain list (接龙)."""

    code: ProductCode = Field(description="Order code members type, e.g. A1.")
    name: Text = Field(description="Product name shown in posts.")
    price: PositiveMoney = Field(description="Price in yuan, at most 2 decimals.")
    stock: Count = Field(ge=0, le=MAX_STOCK, description="Units available; orders never exceed it.")
    limit_per_member: Count | None = Field(
        None, ge=1, le=MAX_LIMIT, description="Max units one member may order."
    )
    unit: Text | None = Field(None, description="Unit word, e.g. 盒, 斤, 箱.")
    description: Text | None = Field(None, description="One or two lines about the product.")

    @property
    def price_cents(self) -> int:
        """Price in fen (分), the unit storage and arithmetic use to stay exact."""
        return int(self.price * 100)


class PreheatPost(_Post):
    """A teaser post before opening (预热蓄水), e.g. daily at T-3d, T-2d, T-1d."""

    at: When = Field(description="When to post; must be before opening.")
    products: list[ProductCode] = Field(default_factory=list, description="Products the post features.")
    coupon: Slug | None = Field(None, description="Id of a coupon the post promotes.")


class RedPacketBurst(_Post):
    """A red-packet rain burst (红包雨): members grab with a keyword; paid as coupon credit."""

    at: When = Field(description="When the burst starts; must be before opening.")
    packets: Count = Field(ge=1, le=MAX_PACKETS, description="Number of packets (the first N grabbers win).")
    budget: PositiveMoney = Field(description="Total yuan split randomly among the packets.")
    keyword: Text = Field("抢", description="What members type to grab.")
    window: Duration = Field(
        timedelta(seconds=60),
        description="How long grabbing stays open.",
        json_schema_extra={"default": "60s"},
    )

    @property
    def budget_cents(self) -> int:
        """Budget in fen."""
        return int(self.budget * 100)


class OpenPost(_Post):
    """The opening post (开团) at T; the sale opens even if posting is late."""


class Broadcasts(_Post):
    """Stock and sales broadcasts (库存/销量播报) while the sale is open, and one-off messages to
    groups (`messages`, handlers/broadcast)."""

    at: list[When] = Field(
        default_factory=lambda: [parse_time_spec("T+30m")],
        description="Fixed broadcast times between opening and closing.",
        json_schema_extra={"default": ["T+30m"]},
    )
    every: Duration | None = Field(None, description="Also broadcast at this interval after opening.")
    low_stock_threshold: Number = Field(
        0.2, gt=0, lt=1, description="Announce 'only N left' when stock falls below this share."
    )
    window: Duration = Field(
        timedelta(seconds=60),
        description="Coalescing window: at most one stock post per window.",
        json_schema_extra={"default": "60s"},
    )
    quiet_hours: QuietHours | None = Field(
        None, description="Local hours without interval broadcasts, e.g. 23:00-08:00."
    )
    messages: Messages = messages_field()


class AlertRule(_Model):
    """Overrides for one monitoring rule; anything left out keeps the documents' default."""

    threshold: Number | None = Field(
        None, ge=0, le=MAX_THRESHOLD, description="Alert when the metric falls below this."
    )
    window: Duration | None = Field(None, description="Sliding window the metric is computed over.")
    min_duration: Duration | None = Field(None, description="How long it must stay low before alerting.")
    cooldown: Duration | None = Field(None, description="Quiet time after an alert before another.")


class Monitoring(_Model):
    """Alert thresholds for this campaign's groups (docs/metrics.md); alerts go to leaders privately."""

    enabled: bool = Field(True, description="Watch the groups while the sale is open.")
    active_ratio: AlertRule = Field(default_factory=AlertRule, description="Active members ÷ members (50%).")
    messages_per_minute: AlertRule = Field(default_factory=AlertRule, description="Messages a minute (10).")
    conversion: AlertRule = Field(default_factory=AlertRule, description="Buyers ÷ active members (15%).")
    stock_ratio: AlertRule = Field(default_factory=AlertRule, description="Stock left ÷ stock (20%).")


class ClosePosts(_Post):
    """What happens at closing (结团): results, thanks, preview of the next campaign."""

    results: bool = Field(True, description="Post the campaign results (战绩).")
    thanks: bool = Field(True, description="Thank the buyers.")
    next_preview: Text | None = Field(None, description="Teaser for the next campaign.")


class FollowupPost(_Post):
    """A post after closing: photo-sharing reward (晒单有礼), after-sales follow-up."""

    at: When = Field(description="When to post; at or after closing, e.g. C+1d.")


class Coupon(_Model):
    """A coupon issued by keyword in chat, to newcomers, or only as a reward; redeemable on orders."""

    id: Slug = Field(description="Unique coupon id, e.g. newcomer.")
    keyword: Text | None = Field(None, description="Chat keyword that issues the coupon.")
    match: Literal["exact", "contains"] = Field(
        "exact", description="exact: the whole message is the keyword; contains: anywhere in it."
    )
    on_join: bool = Field(False, description="Issue to members who join (新人礼包).")
    reward: bool = Field(
        False, description="Only given as a reward (晒单有礼, a lottery prize), never by typing."
    )
    amount: PositiveMoney = Field(description="Discount in yuan.")
    min_spend: Money = Field(Decimal("0.00"), description="Minimum order total in yuan (0 = none).")
    quota: Count | None = Field(
        None, ge=1, le=MAX_QUOTA, description="Total coupons available (omit = unlimited)."
    )
    per_member: Count = Field(1, ge=1, le=MAX_PER_MEMBER, description="Coupons one member may get.")
    products: list[ProductCode] = Field(
        default_factory=list, description="Only valid for these products (empty = all)."
    )
    valid_from: When | None = Field(None, description="Redeemable from (default: when issued).")
    valid_until: When | None = Field(None, description="Redeemable until (default: closing).")
    valid_for: Duration | None = Field(None, description="Redeemable for this long after issue.")

    @property
    def amount_cents(self) -> int:
        """Amount in fen."""
        return int(self.amount * 100)

    @property
    def min_spend_cents(self) -> int:
        """Minimum spend in fen."""
        return int(self.min_spend * 100)


class SpendTier(_Model):
    """A spend discount tier (满减): spend at least ``min_spend``, get ``off`` yuan off."""

    min_spend: PositiveMoney = Field(description="Order total in yuan that unlocks the tier.")
    off: PositiveMoney = Field(description="Yuan taken off.")


class FaqEntry(_Model):
    """A question members ask and its answer (常见问题解答)."""

    question: Text = Field(description="The canonical question.")
    keywords: list[Text] = Field(default_factory=list, description="Words that trigger this answer.")
    examples: list[Text] = Field(
        default_factory=list, description="Questions as members phrase them (for fuzzy matching)."
    )
    answer: Text = Field(description="The answer posted to the group.")


class PickupPoint(_Model):
    """A pickup point (自提点)."""

    name: Text = Field(description="Short name, e.g. 东门菜鸟驿站.")
    address: Text = Field(description="Address.")
    hours: Text | None = Field(None, description="Opening hours, e.g. 周日 9:00-20:00.")


class Fulfilment(_Model):
    """After the 接龙: how members pay, when they are reminded, and the after-sales promises
    (docs/fulfilment.md). Every default is the source documents' practice."""

    payment: Literal["before_pickup", "on_pickup"] = Field(
        "before_pickup",
        description="before_pickup: the leader marks payment (/paid); on_pickup: the clerk's 核销 does.",
    )
    payment_reminder_after: Duration = Field(
        timedelta(hours=12),
        description="First private reminder to members who have not paid, this long after closing.",
        json_schema_extra={"default": "12h"},
    )
    payment_reminder_every: Duration = Field(
        timedelta(hours=24),
        description="At most one payment reminder per member per this long.",
        json_schema_extra={"default": "24h"},
    )
    payment_reminders: int = Field(
        2, ge=0, le=10, description="Payment reminders per member at most; 0 = none."
    )
    pickup_reminder_after: Duration | None = Field(
        timedelta(hours=24),
        description="Remind members whose goods still wait this long after closing; null = never.",
        json_schema_extra={"default": "24h"},
    )
    ticket_keywords: list[Text] = Field(
        default_factory=list, description="Words that open an after-sales ticket, added to the defaults."
    )
    first_reply_within: Duration = Field(
        timedelta(hours=2),
        description="A ticket with no leader reply this long after it opened is escalated to the admins.",
        json_schema_extra={"default": "2h"},
    )
    resolve_within: Duration = Field(
        timedelta(hours=24),
        description="A ticket still unresolved this long after it opened is escalated again.",
        json_schema_extra={"default": "24h"},
    )


class Campaign(_Model):
    """One group-buying campaign (一次团购): what is sold, to which groups, and its timeline."""

    id: Slug = Field(description="Unique campaign id; used in job ids and commands.")
    title: Text = Field(description="Campaign title shown in posts.")
    groups: list[Text] = Field(default_factory=list, description="Group ids the campaign runs in.")
    group_tags: list[Text] = Field(
        default_factory=list, description="Run in every group carrying one of these tags."
    )
    timezone: Timezone = Field(DEFAULT_TIMEZONE, description="IANA timezone of naive times.")
    opens_at: Opening = Field(description="Opening time T (开团).")
    closes_at: Closing = Field(description="Closing time C (结团); after opens_at.")
    products: list[Product] = Field(min_length=1, description="Products on sale.")
    preheat: list[PreheatPost] = Field(default_factory=list, description="Teaser posts before opening.")
    countdowns: list[When] = Field(
        default_factory=lambda: [parse_time_spec(t) for t in DEFAULT_COUNTDOWNS],
        description="Countdown reminders before opening.",
        json_schema_extra={"default": list(DEFAULT_COUNTDOWNS)},
    )
    red_packets: list[RedPacketBurst] = Field(default_factory=list, description="Red-packet rain bursts.")
    open: OpenPost = Field(default_factory=OpenPost, description="The opening post.")
    broadcasts: Broadcasts = Field(
        default_factory=Broadcasts, description="Stock/sales broadcasts, one-off messages."
    )
    close: ClosePosts = Field(default_factory=ClosePosts, description="Closing posts.")
    poster: Poster = Field(default_factory=Poster, description="The results poster (战绩海报).")
    points: Points = Field(
        default_factory=Points, description="Points buyers earn (积分): per yuan, double-points windows."
    )
    showoff: Showoff | None = Field(None, description="晒单有礼: the first N buyers' pictures after closing.")
    referral: Referral | None = Field(None, description="推荐有礼: invite rewards and ladders.")
    gifts: FirstGifts | None = Field(None, description="前N名下单赠礼: first N orders get a gift.")
    reopen: Reopen | None = Field(None, description="限时返场: reopen what is left after closing.")
    leaderboard: LiveBoard | None = Field(None, description="实时销量榜 during the sale.")
    followups: list[FollowupPost] = Field(default_factory=list, description="Posts after closing.")
    coupons: list[Coupon] = Field(default_factory=list, description="Coupons.")
    spend_tiers: list[SpendTier] = Field(default_factory=list, description="Spend discount tiers (满减).")
    faq: list[FaqEntry] = Field(default_factory=list, description="FAQ entries.")
    monitoring: Monitoring = Field(default_factory=Monitoring, description="Alert thresholds (监控预警).")
    pickup_points: list[PickupPoint] = Field(default_factory=list, description="Pickup points (自提点).")
    fulfilment: Fulfilment = Field(
        default_factory=Fulfilment, description="Payment, pickup reminders and after-sales (履约与售后)."
    )
    adlaw: AdlawSettings = Field(
        default_factory=AdlawSettings,
        description="广告法 lint: allow a word with a reason, or add words (docs/compliance.md).",
    )

    @field_validator("opens_at", "closes_at", mode="after")
    @classmethod
    def _localize(cls, value: datetime, info: ValidationInfo) -> datetime:
        """Naive times mean the campaign timezone; store them aware so nobody guesses later."""
        name = info.data.get("timezone")
        if not isinstance(name, str):
            return value  # timezone itself is invalid; that error is reported on its own
        tz = zoneinfo.ZoneInfo(name)
        return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)

    @property
    def tz(self) -> tzinfo:
        """The campaign timezone."""
        return zoneinfo.ZoneInfo(self.timezone)

    def resolve(self, spec: TimeSpec) -> datetime:
        """Absolute, aware time of ``spec`` in the campaign timezone."""
        return spec.resolve(self.opens_at, self.closes_at, self.tz)

    def product(self, code: str) -> Product | None:
        """The product with ``code``, or None."""
        return next((p for p in self.products if p.code == code), None)

    def coupon(self, coupon_id: str) -> Coupon | None:
        """The coupon with ``coupon_id``, or None."""
        return next((c for c in self.coupons if c.id == coupon_id), None)

    def shifted(self, delta: timedelta) -> Campaign:
        """The same campaign moved by ``delta`` (every absolute time; relative ones follow T/C).

        Used by rehearsal (anchor T to now) and ``/campaign delay``.
        """
        shifted = _shift(self, delta)
        assert isinstance(shifted, Campaign)
        return shifted


def _shift(value: object, delta: timedelta) -> object:
    """Recursively move absolute times in a model tree."""
    if isinstance(value, TimeSpec):
        return value.shifted(delta)
    if isinstance(value, datetime):
        return value + delta if value.tzinfo is None else (to_utc(value) + delta).astimezone(value.tzinfo)
    if isinstance(value, list):
        return [_shift(item, delta) for item in value]
    if isinstance(value, BaseModel):
        updates = {name: _shift(getattr(value, name), delta) for name in type(value).model_fields}
        return value.model_copy(update=updates)
    return value
