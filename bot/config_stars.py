"""活跃之星 (docs/growth.md): the weekly title per group and its points reward.

The week ends, and the star is announced, on `weekday` at `at` (bot.timezone). The score counts
what helps a group-buying group, never message counts: orders placed that week, 晒单 pictures
counted, and helpful answers a leader marked (`/helpful @成员`, `/赞 名字`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["StarSettings", "StarWeights"]

MAX_WEIGHT = 1000


class StarWeights(BaseModel):
    """Score per thing done in the week; 0 leaves a kind out."""

    model_config = ConfigDict(extra="forbid")

    orders: int = Field(
        default=3, ge=0, le=MAX_WEIGHT, description="per order line placed that week, not cancelled"
    )
    showoff: int = Field(default=5, ge=0, le=MAX_WEIGHT, description="per 晒单 picture counted that week")
    helpful: int = Field(
        default=2, ge=0, le=MAX_WEIGHT, description="per helpful mark a leader gave that week"
    )


class StarSettings(BaseModel):
    """活跃之星 (docs/growth.md): the weekly title per group and its points reward."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="false: this loop is off")
    weekday: int = Field(
        default=7,
        ge=1,
        le=7,
        description="the day the week ends and the star is announced: 1 Monday … 7 Sunday",
    )
    at: str = Field(
        default="20:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="local time of that day"
    )
    weights: StarWeights = Field(default_factory=StarWeights)
    points: int = Field(
        default=50, ge=0, le=1_000_000, description="points each star gets; 0: the title only"
    )
    min_score: int = Field(default=5, ge=1, le=1_000_000, description="a week below this score has no star")
    top: int = Field(default=1, ge=1, le=10, description="stars per group and week")

    @model_validator(mode="after")
    def _something_counts(self) -> StarSettings:
        w = self.weights
        if self.enabled and not (w.orders or w.showoff or w.helpful):
            raise ValueError("weights are all 0: nothing would count; set one or set enabled: false")
        return self
