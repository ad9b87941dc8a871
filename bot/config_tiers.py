"""Member tiers (会员等级, docs/growth.md): declared tiers and their perks."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["TierSettings"]


class TierSettings(BaseModel):
    """Member tiers (会员等级, docs/growth.md): declared tiers and their perks."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="false: this loop is off")
