"""The poster feature's declaration (issue 19); its owner fills in modules and setup."""

from bot.feature import Feature

FEATURE = Feature("poster")
