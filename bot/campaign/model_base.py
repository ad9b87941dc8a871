"""The base of every campaign-file model: unknown keys are errors, values immutable.

Its own module so that the sections split out of `bot.campaign.models` (the growth sections in
`bot.campaign.growth_models`) share it without importing the campaign model itself.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot.campaign.values import Text

__all__ = ["_Model", "_Post"]


class _Model(BaseModel):
    """Base: unknown keys are errors (typos must not be silently ignored), values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class _Post(_Model):
    """Something the bot posts: literal ``text`` or a Jinja2 ``template`` under ``templates/``."""

    text: Text | None = Field(None, description="Literal message text (Simplified Chinese).")
    template: Text | None = Field(
        None, description="Template under templates/, e.g. campaign/preheat.j2 (instead of text)."
    )
