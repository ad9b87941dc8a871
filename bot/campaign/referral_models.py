"""Campaign-file section (docs/growth.md):
推荐有礼 (referral): rewards for both sides, ladders, the invite leaderboard.

Cross-field rules (a coupon id of this file, given as a reward and still redeemable after
closing; ladders in increasing order) are in `bot.campaign.referral_checks`.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from bot.campaign.model_base import _Model
from bot.campaign.time_fields import Duration
from bot.campaign.values import Count, Text

__all__ = [
    "MAX_LADDER_INVITES",
    "MAX_REFERRAL_POINTS",
    "Referral",
    "ReferralBoard",
    "ReferralLadder",
    "ReferralReward",
]

MAX_REFERRAL_POINTS = 100_000
MAX_LADDER_INVITES = 1_000
MIN_BOARD_EVERY = timedelta(minutes=10)


class ReferralReward(_Model):
    """What one side of a credited invite gets: a coupon of this file, points, or both."""

    coupon: Text | None = Field(
        None, description="A coupon id of this campaign's coupons (give it reward: true)."
    )
    points: Count = Field(0, ge=0, le=MAX_REFERRAL_POINTS, description="Points (reason referral); 0: none.")


class ReferralLadder(_Model):
    """A ladder rung (邀请3人得优惠券): paid once per member ever, when their credited invites reach it."""

    invites: Count = Field(ge=1, le=MAX_LADDER_INVITES, description="Credited invites that reach this rung.")
    coupon: Text | None = Field(None, description="A coupon id of this campaign's coupons.")
    points: Count = Field(0, ge=0, le=MAX_REFERRAL_POINTS, description="Points for reaching it; 0: none.")


class ReferralBoard(_Model):
    """The invite leaderboard (邀请排行): `邀请排行` in a group, and a coalesced progress post."""

    top: Count = Field(10, ge=1, le=50, description="Inviters shown, best first.")
    every: Duration = Field(
        timedelta(hours=1),
        description="At most one progress post per group this often, and only after a change.",
        json_schema_extra={"default": "1h"},
    )
    post: bool = Field(True, description="Post progress during the campaign and the final board at close.")

    @field_validator("every", mode="after")
    @classmethod
    def _not_too_often(cls, every: timedelta) -> timedelta:
        if every < MIN_BOARD_EVERY:
            raise PydanticCustomError("board_every", "must be at least 10m; groups must not be spammed")
        return every


class Referral(_Model):
    """推荐有礼 (referral): rewards for both sides, ladders, anti-cheat."""

    enabled: bool = Field(True, description="Turn this section off without deleting it.")
    inviter: ReferralReward = Field(
        default_factory=ReferralReward, description="What the inviter gets per credited invite."
    )
    invitee: ReferralReward = Field(
        default_factory=ReferralReward, description="What the invited newcomer gets when credited."
    )
    ladders: list[ReferralLadder] = Field(
        default_factory=list, description="Rungs by credited invites (邀请3人得…), each paid once ever."
    )
    board: ReferralBoard = Field(default_factory=ReferralBoard, description="The invite leaderboard.")
