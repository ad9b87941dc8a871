"""Campaign-file section (docs/growth.md):
限时返场 (tail-period reopen): products with stock left reopen for a window."""

from __future__ import annotations

from pydantic import Field

from bot.campaign.model_base import _Model

__all__ = ["Reopen"]


class Reopen(_Model):
    """限时返场 (tail-period reopen): products with stock left reopen for a window."""

    enabled: bool = Field(True, description="Turn this section off without deleting it.")
