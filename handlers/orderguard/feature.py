"""The order-guard feature (filled in by its package)."""

from bot.feature import Feature

FEATURE = Feature("orderguard")
