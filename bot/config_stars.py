"""活跃之星 (docs/growth.md): the weekly title per group and its points reward."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["StarSettings"]


class StarSettings(BaseModel):
    """活跃之星 (docs/growth.md): the weekly title per group and its points reward."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="false: this loop is off")
