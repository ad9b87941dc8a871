"""Member tiers (会员等级, docs/growth.md): declared tiers and their perks.

A tier is reached by meeting ANY of its declared criteria within its window of days: spend
(`spend_yuan`) OR the number of sales bought in (`orders`) OR the invites credited to the member by
推荐有礼 (`invites`: the issue's "邀请10人升级会员" ladder). Any may be left out, not all. The
tiers are listed lowest first; a member holds the highest tier they meet, and everyone else is
the base tier (`base`, 普通 by default), which has no perks. Perks are bounded here so a typo
(an extra 0) cannot give away the shop: errors name the key (`tiers.levels.0.discount_percent`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["MAX_DISCOUNT_PERCENT", "MAX_EARLY_MINUTES", "MAX_EXTRA_LIMIT", "Tier", "TierSettings"]

MAX_EARLY_MINUTES = 1440
MAX_EXTRA_LIMIT = 1000
MAX_DISCOUNT_PERCENT = 50


class Tier(BaseModel):
    """One tier: how it is reached (spend OR sales OR credited invites within `days`) and what it gives."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=20, description="the tier's name members see (VIP, 黄金会员)")
    spend_yuan: float | None = Field(
        default=None, gt=0, le=10_000_000, description="reached by spending at least this many yuan"
    )
    orders: int | None = Field(
        default=None, ge=1, le=1000, description="or by buying in at least this many sales (campaigns)"
    )
    invites: int | None = Field(
        default=None, ge=1, le=10_000, description="or by inviting this many members credited by 推荐有礼"
    )
    days: int = Field(default=90, ge=1, le=3660, description="within the last this many days")
    early_minutes: int = Field(
        default=0, ge=0, le=MAX_EARLY_MINUTES, description="may order this many minutes before T-0 (优先抢购)"
    )
    extra_limit: int = Field(
        default=0, ge=0, le=MAX_EXTRA_LIMIT, description="units added to each product's per-member limit"
    )
    discount_percent: int = Field(
        default=0, ge=0, le=MAX_DISCOUNT_PERCENT, description="percent off the member's goods (会员折扣)"
    )

    @model_validator(mode="after")
    def _reachable(self) -> Tier:
        if self.spend_yuan is None and self.orders is None and self.invites is None:
            raise ValueError(
                f"tier {self.name!r} needs spend_yuan, orders or invites, or several (how it is reached)"
            )
        return self

    @property
    def spend_cents(self) -> int | None:
        """The spend threshold in fen (money is counted in fen everywhere)."""
        return None if self.spend_yuan is None else round(self.spend_yuan * 100)


class TierSettings(BaseModel):
    """Member tiers (会员等级, docs/growth.md): declared tiers and their perks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="false: this loop is off")
    base: str = Field(
        default="普通", min_length=1, max_length=20, description="the name of members below every tier"
    )
    levels: list[Tier] = Field(default_factory=list, description="the tiers, lowest first")

    @model_validator(mode="after")
    def _names_once(self) -> TierSettings:
        names = [self.base, *(tier.name for tier in self.levels)]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            shown = ", ".join(twice)
            raise ValueError(
                f"each tier needs its own name, and none may be the base {self.base!r} (twice: {shown})"
            )
        return self

    @property
    def active(self) -> bool:
        """Whether any tier can be reached (on, with at least one declared tier)."""
        return self.enabled and bool(self.levels)
