"""Campaign-file section (docs/growth.md):
前N名下单赠礼 (first-N gifts): the first N committed orders get the gift.

Cross-field rules (the coupon is one of this file's `reward: true` coupons, `products` are codes
of this file) are in `bot.campaign.gift_checks`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bot.campaign.model_base import _Model
from bot.campaign.values import Count, ProductCode, Text

__all__ = ["MAX_GIFTS", "MAX_GIFT_POINTS", "FirstGifts"]

MAX_GIFTS = 10_000
MAX_GIFT_POINTS = 100_000


class FirstGifts(_Model):
    """前N名下单赠礼 (first-N gifts): the first N committed orders get the gift."""

    enabled: bool = Field(True, description="Turn this section off without deleting it.")
    first: Count = Field(
        ge=1, le=MAX_GIFTS, description="How many gifts: the first N members' orders, by commit."
    )
    gift: Text = Field(
        max_length=30, description="What the gift is (保温杯一个): told to members, on the pick list."
    )
    coupon: Text | None = Field(
        None, description="Also give this coupon of the file (a reward: true coupon); none: no coupon."
    )
    points: Count = Field(
        0, ge=0, le=MAX_GIFT_POINTS, description="Also give these points (reason gift); 0: none."
    )
    on_cancel: Literal["pass", "keep"] = Field(
        "pass",
        description="pass: a gifted member who cancels every order passes the gift to the next "
        "member in line; keep: nobody else gets it.",
    )
    products: list[ProductCode] = Field(
        default_factory=list, description="Only orders of these products count (empty = any product)."
    )
