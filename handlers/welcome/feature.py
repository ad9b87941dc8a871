"""Welcomes for new members, batched, with a leader-editable template."""

from bot.feature import Feature
from handlers.welcome import chat

FEATURE = Feature("welcome", modules=(chat,))
