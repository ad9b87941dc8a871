"""前N名下单赠礼 (issue 17): the first N members' committed orders get the gift, decided in the
order batches' own transactions (docs/growth.md)."""

from bot.context import Services
from bot.feature import Feature, Lifecycle
from handlers.gifts import chat
from handlers.gifts.figures import figures
from handlers.gifts.service import gifts_of
from handlers.selling.extras import OrderExtras


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Take part in every order batch from the first one on, and show the gift in 我的订单."""
    gifts_of(services).install()
    services.get_or_make(OrderExtras, OrderExtras).add(chat.gift_line_provider(services))


FEATURE = Feature("gifts", modules=(chat,), setup=setup, figures=figures)
