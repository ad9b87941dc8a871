"""Answers to members' questions: the shipped FAQ, leaders' own entries, unanswered ones."""

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.faq import chat


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Warm the tokenizer when the bot starts, not during the first question."""
    lifecycle.on_start(chat.warm_up)


FEATURE = Feature("faq", modules=(chat,), setup=setup)
