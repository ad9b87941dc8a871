"""After-sales tickets (售后)."""

from bot.feature import Feature

FEATURE = Feature("aftersales")
