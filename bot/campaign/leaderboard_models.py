"""Campaign-file section (docs/growth.md):
实时销量榜 (live sales leaderboard) posted during the sale."""

from __future__ import annotations

from pydantic import Field

from bot.campaign.model_base import _Model

__all__ = ["LiveBoard"]


class LiveBoard(_Model):
    """实时销量榜 (live sales leaderboard) posted during the sale."""

    enabled: bool = Field(True, description="Turn this section off without deleting it.")
