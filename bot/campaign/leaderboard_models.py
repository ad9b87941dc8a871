"""Campaign-file section (docs/growth.md):
实时销量榜 (live sales leaderboard) posted during the sale."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from bot.campaign.model_base import _Model
from bot.campaign.time_fields import Duration

__all__ = ["MAX_LEADERBOARD_TOP", "MIN_LEADERBOARD_EVERY", "LiveBoard"]

MAX_LEADERBOARD_TOP = 10
"""A longer list is no leaderboard, and a WeChat post has a length limit."""

MIN_LEADERBOARD_EVERY = timedelta(minutes=5)
"""More often than this, the board would bury the 接龙 lists it is meant to spur."""


class LiveBoard(_Model):
    """实时销量榜 (live sales leaderboard) while the sale is open: with each broadcast, and at most
    once per ``every`` as orders come in, posted to a group only when its figures changed."""

    enabled: bool = Field(True, description="Turn this section off without deleting it.")
    top: int = Field(
        5, ge=1, le=MAX_LEADERBOARD_TOP, description="Products listed, by units sold across all groups."
    )
    compare_groups: bool = Field(
        True, description="Rank the campaign's groups against each other (when it runs in several)."
    )
    rank_groups_by: Literal["units", "gmv"] = Field(
        "units", description="How groups are ranked: units (件数) or gmv (成交额)."
    )
    with_broadcasts: bool = Field(True, description="Post the board with each of the campaign's broadcasts.")
    every: Duration | None = Field(
        None, description="Also post it at most this often while orders come in (at least 5m); none: off."
    )

    @field_validator("every", mode="after")
    @classmethod
    def _not_too_often(cls, every: timedelta | None) -> timedelta | None:
        if every is not None and every < MIN_LEADERBOARD_EVERY:
            raise PydanticCustomError("too_often", "must be at least 5m; groups must not be spammed")
        return every
