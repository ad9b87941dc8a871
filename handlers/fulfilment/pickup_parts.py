"""What the pickup half of fulfilment brings to the feature: handler modules, node hooks, setup.

Codes at close (`pickup_close`), clerks (`clerks`, `/clerk` in `clerk_chat`), 核销 in chat
(`pickup_chat`, `redeem`), `/pickups` (`pickups_left`), the pickup reminder (`pickup_jobs`).
"""

from types import ModuleType

from bot.campaign.nodes import NodeHook
from bot.context import Services
from bot.feature import Lifecycle
from bot.shared_state import Follow
from handlers.fulfilment import clerk_chat, pickup_chat, pickups_left
from handlers.fulfilment.clerks import clerk_book
from handlers.fulfilment.codes import unpicked_codes
from handlers.fulfilment.codes_shared import CodesShared
from handlers.fulfilment.pickup_close import hook_close_codes
from handlers.fulfilment.pickup_extras import code_provider
from handlers.selling.extras import OrderExtras

MODULES: tuple[ModuleType, ...] = (clerk_chat, pickup_chat, pickups_left)
NODE_HOOKS: dict[str, NodeHook] = {"close": hook_close_codes, "reopen-close": hook_close_codes}


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """Load every clerk in one query (the bare-code matcher decides from memory from the first
    message on), and show the member's pickup code in their private 我的订单."""
    clerks = clerk_book(services)
    services.shared_state.append(Follow(clerks.read, clerks.follow))  # clerks other processes add
    codes = unpicked_codes(services.repo.engine)
    services.outbox.group_filter.hide(codes)  # issued before this start
    services.shared_state.append(CodesShared(services, set(codes)))  # and since, by other accounts
    services.get_or_make(OrderExtras, OrderExtras).add(code_provider(services))
