"""Campaign-file section (docs/growth.md):
推荐有礼 (referral): rewards for both sides, ladders, anti-cheat."""

from __future__ import annotations

from pydantic import Field

from bot.campaign.model_base import _Model

__all__ = ["Referral"]


class Referral(_Model):
    """推荐有礼 (referral): rewards for both sides, ladders, anti-cheat."""

    enabled: bool = Field(True, description="Turn this section off without deleting it.")
