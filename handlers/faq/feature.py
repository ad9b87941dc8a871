"""Answers to members' questions: the shipped FAQ, leaders' own entries, unanswered ones."""

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.faq import chat
from handlers.faq.memory import load_state
from handlers.faq.shared import FaqShared


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Load every group's own entries now, in one statement, so the matcher never reads the database;
    warm the tokenizer when the bot starts, not during the first question."""
    state = load_state(services)
    # Entries added in other account processes' groups, for a group this one takes over.
    services.shared_state.append(FaqShared(services, dict(state.custom)))
    lifecycle.on_start(chat.warm_up)


FEATURE = Feature("faq", modules=(chat,), setup=setup)
