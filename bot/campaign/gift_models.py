"""Campaign-file section (docs/growth.md):
前N名下单赠礼 (first-N gifts): the first N committed orders get the gift."""

from __future__ import annotations

from pydantic import Field

from bot.campaign.model_base import _Model

__all__ = ["FirstGifts"]


class FirstGifts(_Model):
    """前N名下单赠礼 (first-N gifts): the first N committed orders get the gift."""

    enabled: bool = Field(True, description="Turn this section off without deleting it.")
