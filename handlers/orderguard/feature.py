"""The order-guard feature (刷单): padded-sales patterns told privately to the admins.

Its checks are scheduled by its node hooks (periodic from the open, once at the close),
`/guard` lists a campaign's findings. Nothing here cancels, hides or discounts an order.
"""

from bot.feature import Feature
from handlers.orderguard import command, hooks

FEATURE = Feature("orderguard", modules=(command,), node_hooks=hooks.NODE_HOOKS)
