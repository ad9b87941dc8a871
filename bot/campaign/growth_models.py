"""Campaign-file sections of the growth features: the results poster (`poster:`), points
(`points:` with its double-points windows) and 晒单有礼 (`showoff:`). Split from
`bot.campaign.models` to keep each module small; `bot.campaign.models` re-exports them.
"""

from __future__ import annotations

from datetime import UTC
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from bot.campaign.model_base import _Model
from bot.campaign.time_fields import When
from bot.campaign.times import TimeSpec, parse_time_spec
from bot.campaign.values import Count, Number, PositiveMoney, Text

__all__ = ["DoublePoints", "Points", "PointsRedeem", "Poster", "Showoff"]


class Poster(_Model):
    """The results poster (战绩海报) sent to every group at closing and on /poster (docs/poster.md)."""

    enabled: bool = Field(True, description="Send it to every group at closing (/poster works anyway).")
    show: Literal["gmv", "units"] = Field(
        "gmv", description="Headline: gmv (成交额) or units (件数, no money)."
    )
    thanks: Text | None = Field(
        None, max_length=60, description="Thank-you line (default: poster/thanks.j2)."
    )
    top_groups: int = Field(3, ge=0, le=5, description="Groups ranked on the poster by sales; 0: none.")


class DoublePoints(_Model):
    """A double-points window (限时双倍积分): orders placed in it earn twice the points at close."""

    from_: When = Field(alias="from", description="Start: orders placed from then on earn double.")
    until: When = Field(description="End (not included), e.g. T+1h; after from.")

    @field_validator("until", mode="after")
    @classmethod
    def _after_from(cls, until: TimeSpec, info: ValidationInfo) -> TimeSpec:
        return window_end_after_start(until, info)


def window_end_after_start(until: TimeSpec, info: ValidationInfo) -> TimeSpec:
    """A window's ``until`` after its ``from``, checked here when both are ``T±``, both ``C±`` or both
    absolute; a mix needs the campaign's T and C (the cross-field checks in section_checks)."""
    start = info.data.get("from_")
    if isinstance(start, TimeSpec):
        (kind, begins), (end_kind, ends) = _on_axis(start), _on_axis(until)
        if kind == end_kind and ends <= begins:
            raise PydanticCustomError("window", "must be after from ({start})", {"start": str(start)})
    return until


def _on_axis(spec: TimeSpec) -> tuple[str, float]:
    """Which axis a time is on (T, C, local or aware) and its seconds along it."""
    if spec.at is None:
        return str(spec.anchor), spec.days * 86400 + spec.clock.total_seconds()
    if spec.at.tzinfo is None:
        return "local", spec.at.replace(tzinfo=UTC).timestamp()
    return "aware", spec.at.timestamp()


MAX_REDEEM_RATE = 100_000


class PointsRedeem(_Model):
    """积分抵扣: members who opted in (积分抵扣) pay part of their bill with points, settled at close.

    The cap is the smallest of ``max_yuan``, ``max_share`` of what is due after 满减, the member
    discount and the coupon, and what the member's balance is worth at ``rate``.
    """

    rate: Count = Field(
        ge=1, le=MAX_REDEEM_RATE, description="Points worth one yuan, e.g. 100 (100 points = ¥1)."
    )
    max_yuan: PositiveMoney = Field(description="At most this many yuan off per buyer per campaign.")
    max_share: Number = Field(
        0.5, gt=0, le=1, description="At most this share of what is due after 满减 and coupons (0.5: half)."
    )


class Points(_Model):
    """Points (积分) each buyer earns when the campaign closes in their group (docs/growth.md)."""

    per_yuan: Number = Field(1.0, ge=0, le=1000, description="Points per yuan of a buyer's orders; 0: none.")
    double: list[DoublePoints] = Field(default_factory=list, description="Double-points windows (双倍积分).")
    redeem: PointsRedeem | None = Field(
        None, description="Points redemption (积分抵扣) for members who opt in; absent: none."
    )


MAX_SHOWOFF_POINTS = 100_000
MAX_SHOWOFF_FIRST = 10_000


class Showoff(_Model):
    """晒单有礼: after closing, the first buyers to post a picture in a group of the campaign get the
    reward, automatically and once each (docs/growth.md). Set ``coupon``, ``points`` or both."""

    first: Count = Field(
        ge=1,
        le=MAX_SHOWOFF_FIRST,
        description="How many buyers are rewarded: the first N pictures by commit.",
    )
    coupon: Text | None = Field(
        None,
        description="A coupon id of this campaign's coupons: (valid after closing: valid_for/valid_until).",
    )
    points: Count = Field(
        0, ge=0, le=MAX_SHOWOFF_POINTS, description="Points each rewarded buyer gets; 0: none."
    )
    from_: When = Field(
        default_factory=lambda: parse_time_spec("C"),
        alias="from",
        description="Pictures count from then on (at or after closing).",
        json_schema_extra={"default": "C"},
    )
    until: When = Field(
        default_factory=lambda: parse_time_spec("C+3d"),
        description="Pictures count until then (not included); after from.",
        json_schema_extra={"default": "C+3d"},
    )

    @field_validator("until", mode="after")
    @classmethod
    def _after_from(cls, until: TimeSpec, info: ValidationInfo) -> TimeSpec:
        return window_end_after_start(until, info)
