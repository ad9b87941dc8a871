"""The moderation feature (filled in by its package)."""

from bot.feature import Feature

FEATURE = Feature("moderation")
