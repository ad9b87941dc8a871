"""Answers to members' questions: the shipped FAQ, leaders' own entries, unanswered ones."""

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.faq import chat
from handlers.faq.memory import load_state


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Load every group's own entries now, in one statement, so the matcher never reads the database;
    warm the tokenizer when the bot starts, not during the first question."""
    load_state(services)
    lifecycle.on_start(chat.warm_up)


FEATURE = Feature("faq", modules=(chat,), setup=setup)
